"""Which files of a watched folder are read: include/exclude patterns and default excludes with
gitignore semantics, and the folder's own .gitignore files (the deepest one wins)."""

from __future__ import annotations

from pathlib import Path

from sleepd.ingest.pathfilter import PathFilter
from sleepd.storage.config import WatchConfig

DEFAULTS = WatchConfig().default_excludes


def test_default_excludes_skip_hidden_folders_and_editor_files() -> None:
    f = PathFilter.build((), (), DEFAULTS)
    assert f.wanted("notes/a.md") and f.wanted("deep/er/b.txt")
    for unwanted in (".git/config", ".obsidian/app.json", "notes/.a.md.swp", "a.md~", "#a.md#", "x.tmp"):
        assert not f.wanted(unwanted), unwanted
    assert f.excluded_dir(".git") and f.excluded_dir("node_modules") and not f.excluded_dir("notes")


def test_includes_narrow_and_excludes_win() -> None:
    f = PathFilter.build(["*.md"], ["drafts/"], DEFAULTS)
    assert f.wanted("a.md") and f.wanted("sub/b.md")
    assert not f.wanted("a.txt")  # not included
    assert not f.wanted("drafts/c.md") and f.excluded_dir("drafts")  # excluded although included
    assert not f.wanted("sub/drafts/d.md")  # "drafts/" matches at any depth, as in git


def test_gitignore_files_apply_below_their_folder_and_the_deepest_wins(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.log\nbuild/\n")
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / ".gitignore").write_text("!important.log\n")
    f = PathFilter.build((), (), (), str(tmp_path))
    assert not f.wanted("run.log") and not f.wanted("sub/run.log")
    assert f.excluded_dir("build")
    assert f.wanted("keep/important.log") and not f.wanted("keep/other.log")
    assert f.wanted("notes.md")


def test_an_edited_gitignore_is_read_again(tmp_path: Path) -> None:
    import os

    gi = tmp_path / ".gitignore"
    gi.write_text("*.md\n")
    f = PathFilter.build((), (), (), str(tmp_path))
    assert not f.wanted("a.md")
    gi.write_text("*.txt\n")
    st = gi.stat()
    os.utime(gi, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))  # a later mtime, as an edit gives
    assert f.wanted("a.md") and not f.wanted("a.txt")
