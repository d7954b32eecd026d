"""Hypothesis-made files: any name (unicode, control characters, 255-byte names, undecodable bytes),
any depth of folders, any content. Ingest never raises; each file ends up either stored with its
current content or skipped with a one-line reason; ingesting again changes nothing."""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleepd.ingest.ingestor import Ingestor, Outcome, make_ingestor
from sleepd.models.tokens import load_token_counter
from sleepd.storage import Config, Store, open_engine
from tests.daemon.daemon_proc import RunningDaemon, sleepd

from ..ingest.corpus import write_bad_files
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
    rel = os.path.relpath(name, os.fsdecode(root))
    filt = ingestor.filter_for(None)
    parts = rel.split(os.sep)
    hidden_dir = any(filt.excluded_dir("/".join(parts[: i + 1])) for i in range(len(parts) - 1))
    excluded = hidden_dir or not filt.wanted(rel)  # the default excludes: ".hidden", "x.swp", "#x#"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # Not valid UTF-8: SQLite text can't hold the name. Skipped with its reason, and said so,
        # unless the default excludes leave it out anyway (b".\x80" is a hidden file).
        reason = dict(report.skipped).get(name)
        assert excluded or (reason and "\n" not in reason), report.skipped
        return
    src = store.get_source(name)
    if src is None:  # only a path the default excludes leave out is not recorded
        assert excluded, name
        return
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
    ingestor = make_ingestor(tiny_store, tiny_config, load_token_counter(tiny_config))
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
    report = make_ingestor(tiny_store, tiny_config, load_token_counter(tiny_config)).sync_folder(str(folder))
    skipped = dict(report.skipped)
    record("bad_inputs_tried", len(expected) + 1, add=True)
    for name, word in expected.items():
        assert word in skipped.get(str(folder / name), ""), (name, skipped)
    assert tiny_store.get_source(str(folder / "tab\tand\x1bescape.md")).status == "ok"  # type: ignore[union-attr]


def _random_files(root: Path, n: int, seed: int) -> list[bytes]:
    """``n`` files of the fuzz's kinds, from a seeded generator: paths written (bytes)."""
    import random

    rng = random.Random(seed)
    alphabet = "aé\t\x1b\u202e\U0001f600 _-.z"
    written = []
    for i in range(n):
        depth = rng.choice([0, 1, 3, 30])
        parts = ["".join(rng.choices("xyé ", k=rng.randint(1, 4))) for _ in range(depth)]
        if i % 5 == 0:
            name = bytes(rng.randint(1, 255) for _ in range(12)).replace(b"/", b"_").replace(b"\0", b"_")
        else:
            name = "".join(rng.choices(alphabet, k=rng.choice([3, 20, 120]))).encode()
        name = name if _fits(name) and name.strip(b".") else b"n"
        data = rng.choice([rng.randbytes(rng.randint(0, 3000)), b"Ferry at nine. " * rng.randint(1, 50)])
        suffix = rng.choice([b".md", b".txt", b".jsonl", b".pdf", b""])
        path = _write(os.fsencode(root), parts, name + b"-%d" % i, suffix, data)
        if path is not None:
            written.append(path)
    return written


@pytest.mark.slow
def test_the_daemon_watching_a_folder_of_fuzzed_files_stays_up(tiny_config: Config, tmp_path: Path) -> None:
    folder = tmp_path / "weird"
    folder.mkdir()
    daemon = RunningDaemon(tiny_config, tmp_path / "daemon.log")
    try:
        client = daemon.wait_ready()
        sleepd("watch", "add", str(folder))
        written = _random_files(folder, 150, seed=7)
        store = Store(open_engine(tiny_config))
        wanted = make_ingestor(store, tiny_config, load_token_counter(tiny_config)).filter_for(
            store.list_watches()[0]
        )
        names = [os.fsdecode(p) for p in written if _utf8(p)]
        expected = [p for p in names if wanted.wanted(os.path.relpath(p, folder))]
        assert len(expected) > 80
        end = time.monotonic() + 120
        while time.monotonic() < end and any(store.get_source(p) is None for p in expected):
            time.sleep(0.5)
        assert daemon.proc.poll() is None
        for path in expected:
            src = store.get_source(path)
            assert src is not None, path
            assert src.status == "ok" or (src.reason and "\n" not in src.reason), (path, src)
        assert client.get("/status")["daemon"]["state"] == "serving"
        record("bad_inputs_tried", len(written), add=True)
    finally:
        assert daemon.stop() == 0, daemon.log.read_text()[-3000:]


def _utf8(path: bytes) -> bool:
    try:
        path.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
