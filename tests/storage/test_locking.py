"""Two engines on one database in one process (the CLI and the daemon's store, tests' fixtures)
must not cost the first its SQLite locks, or another process deletes the WAL it writes to."""

from __future__ import annotations

import subprocess
import sys

from sleepd.storage import Config, Store, open_engine

READ = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
    "print(c.execute('SELECT count(*) FROM sources').fetchone()[0]); c.close()"
)


def _count_from_another_process(config: Config) -> int:
    proc = subprocess.run([sys.executable, "-c", READ, str(config.db_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout)


def test_writes_stay_visible_to_other_processes_with_two_engines(config: Config) -> None:
    first = Store(open_engine(config))
    first.upsert_source("/notes/a.md")
    Store(open_engine(config)).upsert_source("/notes/b.md")  # a second engine, same process
    assert _count_from_another_process(config) == 2  # that reader closing must not drop the WAL
    first.upsert_source("/notes/c.md")
    assert _count_from_another_process(config) == 3
    assert (config.db_path.parent / (config.db_path.name + "-wal")).exists()
