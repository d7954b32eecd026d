"""Ingestion benchmark: one-shot ingest throughput and watcher latency.

(a) one-shot ingest of N small generated text files (default 10,000) -> files/s, against the
    floor of just reading and hashing the same files in the same run;
(b) watcher latency from a file's write to its passage being in the DB, p50/p95 over 200 writes,
    against the configured debounce (the quiet time the watcher waits on purpose).

Usage: .venv/bin/python bench/ingest.py [--files 10000] [--writes 200]
Runs in a temporary SLEEPD_HOME; reuses the converted model cache of the normal data dir.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--debounce", type=float, default=1.0)
    args = parser.parse_args()

    from sleepd.storage import Paths

    model_cache = Paths.from_env({k: v for k, v in os.environ.items() if k != "SLEEPD_HOME"}).data_dir
    tmp = Path(tempfile.mkdtemp(prefix="sleepd-bench-"))
    os.environ["SLEEPD_HOME"] = str(tmp / "home")
    (tmp / "home" / "config").mkdir(parents=True)
    (tmp / "home" / "config" / "config.toml").write_text(
        f'[model]\ncache_dir = "{model_cache / "models"}"\n[watch]\ndebounce_s = {args.debounce}\n'
    )

    from sleepd.daemon.watch import FolderWatcher
    from sleepd.ingest.ingestor import Outcome, make_ingestor
    from sleepd.models.tokens import load_token_counter
    from sleepd.storage import Store, load_config, open_engine

    config = load_config()
    config.paths.ensure()
    store = Store(open_engine(config))
    ingestor = make_ingestor(store, config, load_token_counter(config))

    corpus = tmp / "corpus"
    for i in range(args.files):
        d = corpus / f"d{i // 500:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"note{i:05d}.md").write_text(
            f"# Note {i}\n\nThe locker {i} code is {i * 37 % 10000:04d}.\n\nOwner: person {i % 97}.\n"
        )

    t0 = time.perf_counter()
    n_hashed = 0
    for root, _dirs, names in os.walk(corpus):
        for name in names:
            hashlib.sha256(Path(root, name).read_bytes()).hexdigest()
            n_hashed += 1
    floor_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = ingestor.sync_folder(str(corpus))
    ingest_s = time.perf_counter() - t0
    assert report.counts[Outcome.NEW] == args.files, report.counts

    t0 = time.perf_counter()
    again = ingestor.sync_folder(str(corpus))
    rescan_s = time.perf_counter() - t0
    assert again.counts[Outcome.UNCHANGED] == args.files

    print(
        f"one-shot ingest: {args.files} files in {ingest_s:.1f} s = {args.files / ingest_s:.0f} files/s "
        f"(read+hash floor {n_hashed / floor_s:.0f} files/s; "
        f"ingest takes {ingest_s / floor_s:.1f}x the floor)"
    )
    print(f"unchanged rescan: {args.files / rescan_s:.0f} files/s")

    watched = tmp / "watched"
    watched.mkdir()
    store.add_watch(str(watched))
    watcher = FolderWatcher(store, ingestor, config.watch.debounce_s)
    watcher.start()
    watcher.wait_idle()
    latencies = []
    for i in range(args.writes):
        path = watched / f"w{i:03d}.txt"
        token = f"zq{i:05d}marker"
        t0 = time.perf_counter()
        path.write_text(f"Write {i} carries {token}.")
        while not store.search(token, k=1):
            if time.perf_counter() - t0 > 30:
                sys.exit(f"write {i} never reached the DB")
            time.sleep(0.01)
        latencies.append(time.perf_counter() - t0)
    watcher.stop()
    q = statistics.quantiles(latencies, n=20)
    p50, p95 = statistics.median(latencies), q[18]
    print(
        f"watcher latency over {args.writes} writes: p50 {p50:.2f} s, p95 {p95:.2f} s "
        f"(debounce {config.watch.debounce_s:.1f} s; "
        f"p95 is {p95 / config.watch.debounce_s:.2f}x the debounce)"
    )


if __name__ == "__main__":
    main()
