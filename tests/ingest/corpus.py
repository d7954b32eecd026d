"""Builders for test files: a real PDF, and the bad-input corpus of the ingestion issue."""

from __future__ import annotations

import os
from pathlib import Path


def make_pdf(text: str) -> bytes:
    """A one-page PDF whose text layer says ``text`` (pypdf extracts it back)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def write_good_files(folder: Path) -> dict[str, str]:
    """Good files of every format, each with a phrase that must be found after ingest."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "plan.md": ("# Garden plan\n\nThe quince tree goes by the east wall.\n", "quince tree"),
        "todo.txt": ("Renew the kayak licence before March.\n", "kayak licence"),
        "guide.rst": ("Setup\n=====\n\nThe modem password is on the fridge.\n", "modem password"),
        "tool.py": ('"""Rotate the backups every Tuesday."""\nprint(1)\n', "backups every Tuesday"),
        "page.html": (
            "<html><head><title>Recipes</title><script>var secret=1;</script></head>"
            "<body><p>Bake the <b>rye loaf</b> at 220 degrees.</p></body></html>",
            "rye loaf",
        ),
        "talk.log": ("user: my locker code is 4471\nassistant: Noted, 4471.\n", "locker code"),
        "latin1.txt": (None, "café"),  # not UTF-8: detected and decoded as cp1252
    }
    for name, (content, _) in files.items():
        if content is not None:
            (folder / name).write_text(content)
    (folder / "latin1.txt").write_bytes("Meet at the caf\xe9 on Friday.".encode("latin-1"))
    (folder / "report.pdf").write_bytes(make_pdf("The telescope mirror is 8 inches wide"))
    phrases = {name: phrase for name, (_, phrase) in files.items()}
    phrases["report.pdf"] = "telescope mirror"
    return phrases


def write_bad_files(folder: Path, max_bytes: int) -> dict[str, str]:
    """Every bad case of the ingestion issue; maps file name to a word its skip reason contains."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "image.bin").write_bytes(bytes(range(256)) * 40)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "huge.txt").write_bytes(b"a" * (max_bytes + 1))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\nxx\x00yy")
    os.symlink("loop_b", folder / "loop_a")
    os.symlink("loop_a", folder / "loop_b")
    os.symlink("nowhere", folder / "dangling")
    os.mkfifo(folder / "pipe")
    expected = {
        "image.bin": "binary",
        "empty.txt": "empty",
        "huge.txt": "too large",
        "broken.pdf": "PDF",
        "loop_a": "symlink loop",
        "loop_b": "symlink loop",
        "dangling": "broken symlink",
        "pipe": "not a regular file",
    }
    if os.geteuid() != 0:  # root reads anything, so the permission case needs a normal user
        secret = folder / "secret.txt"
        secret.write_text("private")
        secret.chmod(0)
        expected["secret.txt"] = "permission denied"
    return expected
