"""Hypothesis-made files: any name (unicode, control characters, 255-byte names, undecodable bytes),
any depth of folders, any content. Ingest never raises; each file ends up either stored with its
current content or skipped with a one-line reason; ingesting again changes nothing."""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleepd.daemon.ingest import Ingestor, Outcome, make_ingestor
from sleepd.storage import Config, Store

from ..daemon.corpus import write_bad_files
from .figures import record

NAME_MAX = 255  # bytes, ext4 and tmpfs


def _fits(name: bytes) -> bool:
    return 0 < len(name) <= NAME_MAX and name not in (b".", b"..") and b"/" not in name and b"\0" not in name


names = st.one_of(
    st.text(st.characters(exclude_characters="/\0"), min_size=1, max_size=40),  # incl. control chars
    st.text("abcdefghij ._-", min_size=200, max_size=255),  # long
    st.binary(min_size=1, max_size=30),  # not UTF-8 at all
).map(lambda n: n if isinstance(n, bytes) else n.encode("utf-8", "surrogatepass"))
names = names.filter(_fits)
suffixes = st.sampled_from([b"", b".md", b".txt", b".json", b".jsonl", b".html", b".pdf", b".rst", b".log"])
contents = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=3000).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(st.text('ab :\n{}"', max_size=60), max_size=40).map(lambda ls: "\n".join(ls).encode()),
)
folders = st.lists(st.text("xyzé\t ", min_size=1, max_size=6), max_size=40)  # up to 40 deep

_counter = itertools.count()


def _write(root: bytes, parts: list[str], name: bytes, suffix: bytes, data: bytes) -> bytes | None:
    """Write the file; None where the OS refuses the path itself (longer than PATH_MAX)."""
    folder = os.path.join(root, *[p.encode() for p in parts]) if parts else root
    path = os.path.join(folder, (name + suffix)[:NAME_MAX])
    try:
        os.makedirs(folder, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError:
        return None
    return path


def _check_recorded(store: Store, ingestor: Ingestor, root: bytes, path: bytes, data: bytes) -> None:
    report = ingestor.sync_folder(os.fsdecode(root))
    name = os.fsdecode(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # Not valid UTF-8: SQLite text can't hold the name. Skipped with its reason, and said so.
        reason = dict(report.skipped).get(name)
        assert reason and "\n" not in reason, report.skipped
        return
    src = store.get_source(name)
    assert src is not None, name
    if src.status == "ok":
        assert src.content_hash == hashlib.sha256(data).hexdigest()
        assert all(p.text.strip() for p in store.passages(source_id=src.id))
    else:
        assert src.status == "skipped" and src.reason and "\n" not in src.reason, (src.status, src.reason)
    again = ingestor.sync_folder(os.fsdecode(root), trust_stat=False)
    assert again.counts[Outcome.NEW] == again.counts[Outcome.CHANGED] == 0, again.as_dict()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=folders, name=names, suffix=suffixes, data=contents)
def test_any_file_is_stored_or_skipped_with_a_reason(
    tiny_store: Store, tiny_config: Config, parts: list[str], name: bytes, suffix: bytes, data: bytes
) -> None:
    ingestor = make_ingestor(tiny_store, tiny_config)
    with tempfile.TemporaryDirectory(dir=tiny_config.paths.data_dir) as tmp:
        root = os.fsencode(tmp) + b"/r%d" % next(_counter)
        os.makedirs(root)
        path = _write(root, parts, name, suffix, data)
        if path is not None:
            _check_recorded(tiny_store, ingestor, root, path, data)
            record("bad_inputs_tried", 1, add=True)


def test_bad_corpus_and_control_characters(tiny_store: Store, tiny_config: Config, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    expected = write_bad_files(folder, tiny_config.watch.max_file_bytes)
    (folder / "tab\tand\x1bescape.md").write_text("The ferry leaves at nine.")
    report = make_ingestor(tiny_store, tiny_config).sync_folder(str(folder))
    skipped = dict(report.skipped)
    record("bad_inputs_tried", len(expected) + 1, add=True)
    for name, word in expected.items():
        assert word in skipped.get(str(folder / name), ""), (name, skipped)
    assert tiny_store.get_source(str(folder / "tab\tand\x1bescape.md")).status == "ok"  # type: ignore[union-attr]
