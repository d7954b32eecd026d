"""Vault benchmark: sleepd on a real folder of thousands of notes that nobody here wrote.

Usage: .venv/bin/python bench/vault.py --vault DIR [--questions FILE] [--minutes 30] [--chats 20]
           [--tag T] [--no-sleep] [--note-tokens N]
DIR: e.g. the ``pages/`` folder of tldr-pages/tldr (CC BY 4.0, ~7,400 English pages, ~1.2M tokens),
brought at bench time (``fetch``, then ``git archive HEAD pages | tar -x``); it is never committed.
FILE (default bench/sets/vault-tldr/questions.json): questions we wrote about some of its notes,
``source`` relative to DIR.

In a throwaway SLEEPD_HOME (the converted bundled model reused) with a real daemon, on a copy of
DIR whose files are dated a year back except the questions' notes, dated now (the notes a person
wrote this week, which a budgeted sleep takes first):

1. default chat first token through the socket, p50/p95, with an empty buffer; daemon RSS;
2. the questions' notes ingested, the same chats again (a small buffer);
3. the rest of the vault ingested through the daemon (POST /ingest): files/s; FTS query p50/p95 at
   full size; the same chats again (ratio to the empty buffer, same run); daemon RSS;
4. the ceiling (the note in the prompt) and the buffer row (what chat said before the sleep);
5. one budgeted sleep through the daemon (``sleep.max_minutes``): wall time against the budget,
   passages learned / deferred, nights left, training tokens per new token, seconds per 1k new tokens;
6. closed-book and default chat after the sleep, on the questions whose notes the sleep learned.

Writes bench/results/vault-<DIR name><tag>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from chat import p95
from throwaway_daemon import throwaway_daemon

HERE = Path(__file__).resolve().parent
YEAR_S = 365 * 24 * 3600


def rss_mb(pid: int) -> dict[str, float]:
    """The daemon's resident memory now and at its peak, MiB (Linux /proc)."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}


def first_tokens(client: Any, prompts: list[str]) -> list[float]:
    """Seconds to the first token of default chat (weights and buffer) through the socket."""
    out = []
    for prompt in prompts:
        start = time.perf_counter()
        first = None
        for event in client.chat({"message": prompt, "remember": False}):
            if "token" in event and first is None:
                first = time.perf_counter() - start
        out.append(first or time.perf_counter() - start)
    return out


def copy_vault(vault: Path, work: Path, newest: set[str]) -> list[Path]:
    """Markdown and text files of ``vault`` copied to ``work``, dated a year back except ``newest``."""
    now = time.time()
    files = []
    for src in sorted(vault.rglob("*")):
        if not src.is_file() or src.suffix not in (".md", ".txt"):
            continue
        rel = str(src.relative_to(vault))
        dst = work / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        stamp = now if rel in newest else now - YEAR_S
        os.utime(dst, (stamp, stamp))
        files.append(dst)
    return files


def latency_row(xs: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(xs), "p95": p95(xs), "n": len(xs)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sleepd.evaluation.questions import ceiling, closed_book, load_questions, share
    from sleepd.evaluation.run import default_chat
    from sleepd.memory.served import load_with_memory
    from sleepd.memory.versions import memory_of
    from sleepd.storage import Store, open_engine

    questions = load_questions(Path(args.questions))
    vault = Path(args.vault).resolve()
    missing = [q.source for q in questions if not (vault / q.source).is_file()]
    if missing:
        sys.exit(f"{len(missing)} question notes are not in {vault}, e.g. {missing[0]}")
    prompts = [q.q for q in questions][: args.chats]
    out: dict[str, Any] = {"vault": str(vault), "questions": len(questions), "minutes": args.minutes}
    # short chat answers (the first token is what is timed); no scheduled or idle sleep
    toml = (
        "max_new_tokens = 16\n"
        + f'[sleep]\nmax_minutes = {args.minutes}\nidle_minutes = 1000000\ncron = "0 3 29 2 1"\n'
        + (f"[recall]\nnote_tokens = {args.note_tokens}\n" if args.note_tokens is not None else "")
    )
    with throwaway_daemon(toml) as t:
        client, config = t.client, t.config
        pid = int(client.get("/status")["daemon"]["pid"])
        work = t.home / "vault"
        files = copy_vault(vault, work, {q.source for q in questions})
        out["files"] = len(files)
        log(f"{len(files)} files copied; chats with an empty buffer ...")
        first_tokens(client, prompts[:2])  # warm-up
        out["chat_empty"] = latency_row(first_tokens(client, prompts))
        out["rss_empty_mb"] = rss_mb(pid)

        client.post("/ingest", {"paths": [str(work / q.source) for q in questions]}, timeout=None)
        out["chat_small"] = latency_row(first_tokens(client, prompts))

        log("ingesting the vault through the daemon ...")
        t0 = time.perf_counter()
        report = client.post("/ingest", {"paths": [str(work)]}, timeout=None)
        ingest_s = time.perf_counter() - t0
        out["ingest"] = {"seconds": ingest_s, "files_per_s": len(files) / ingest_s, "report": report}
        store = Store(open_engine(config))
        counts = store.counts()
        pending = store.passages(status="pending")
        out["passages"] = counts["passages"]
        out["new_tokens"] = sum(p.token_count for p in pending)
        log(f"{len(pending)} passages, {out['new_tokens']} new tokens; FTS queries ...")
        fts = []
        queries = [q.q for q in questions] + [
            p.text.split("\n", 1)[0] for p in pending[:: max(1, len(pending) // 200)]
        ]
        for query in queries:
            t0 = time.perf_counter()
            store.search(query, k=5)
            fts.append(time.perf_counter() - t0)
        out["fts"] = latency_row(fts)
        out["chat_full"] = latency_row(first_tokens(client, prompts))
        out["rss_full_mb"] = rss_mb(pid)

        log("ceiling and buffer rows ...")
        base, _ = load_with_memory(config)
        out["ceiling_hits"] = ceiling(base, questions, work)
        out["buffer_hits"] = closed_book(base, questions, recite=False, **default_chat(store, config))
        del base
        if args.no_sleep:
            out["rows"] = {"ceiling": share(out["ceiling_hits"]), "buffer": share(out["buffer_hits"])}
            out["rss_end_mb"] = rss_mb(pid)
            return out

        log(f"one sleep with a {args.minutes:g} min budget ...")
        t0 = time.perf_counter()
        client.post("/sleep")
        last = ""
        while (status := client.get("/status"))["sleep"]["running"]:
            progress = status["sleep"].get("progress") or {}
            line = f"  sleep: {progress.get('stage')} {progress.get('done')}/{progress.get('total')}"
            if line != last:
                log(line)
                last = line
            time.sleep(10)
        out["sleep_wall_s"] = time.perf_counter() - t0
        out["sleep_last"] = status["sleep"].get("last")
        versions = memory_of(config)
        current = versions.current()
        meta = versions.info(current).meta if current else {}
        out["sleep_meta"] = {
            k: v for k, v in meta.items() if k not in ("losses", "layer_scores", "unlearned")
        }
        learned_ids = set(meta.get("passages") or [])
        by_source = {p.source_path: p for p in store.passages() if p.id in learned_ids}
        fit = [q for q in questions if str(work / q.source) in by_source]
        out["fit_questions"] = len(fit)
        log(f"{len(fit)} of {len(questions)} question notes fit in the sleep; closed-book and chat ...")
        lm, served = load_with_memory(config)
        out["served_version"] = served
        out["closed_hits"] = closed_book(lm, fit, recite=served is not None)
        out["chat_hits"] = closed_book(lm, fit, recite=served is not None, **default_chat(store, config))
        fit_set = {q.q for q in fit}
        out["fit_mask"] = [q.q in fit_set for q in questions]
        out["rows"] = {
            "ceiling": share([h for h, m in zip(out["ceiling_hits"], out["fit_mask"], strict=True) if m]),
            "buffer": share([h for h, m in zip(out["buffer_hits"], out["fit_mask"], strict=True) if m]),
            "closed-book": share(out["closed_hits"]),
            "default chat": share(out["chat_hits"]),
        }
        out["rss_end_mb"] = rss_mb(pid)
    return out


def table(r: dict[str, Any]) -> list[str]:
    meta = r.get("sleep_meta", {})
    new_learned = meta.get("new_tokens") or 0
    budget_s = r["minutes"] * 60
    rows = r["rows"]
    ceiling = rows["ceiling"] or 0.0
    buffer = rows["buffer"] or 0.0

    def lat(key: str) -> str:
        x = r[key]
        return f"p50 {x['p50'] * 1000:.0f} ms, p95 {x['p95'] * 1000:.0f} ms"

    lines = [
        f"# vault: {Path(r['vault']).name}, {r['files']} files, {r['new_tokens']} new tokens",
        "",
        f"- ingest through the daemon: {r['ingest']['seconds']:.0f} s = "
        f"{r['ingest']['files_per_s']:.0f} files/s",
        f"- passages: {sum(r['passages'][k] for k in ('pending', 'consolidated'))}",
        f"- FTS query (BM25, k=5) at full size: {lat('fts')} over {r['fts']['n']} queries",
        f"- default chat first token through the socket: empty buffer {lat('chat_empty')}; "
        f"{r['questions']} notes {lat('chat_small')}; full vault {lat('chat_full')} "
        f"(full / empty p95: {r['chat_full']['p95'] / r['chat_empty']['p95']:.2f}x)",
        f"- daemon RSS: empty {r['rss_empty_mb']['VmRSS']:.0f} MiB, "
        f"full {r['rss_full_mb']['VmRSS']:.0f} MiB, "
        f"at the end {r['rss_end_mb']['VmRSS']:.0f} MiB (peak {r['rss_end_mb']['VmHWM']:.0f} MiB)",
    ]
    if "sleep_wall_s" not in r:  # --no-sleep
        return [
            *lines,
            f"- no sleep (--no-sleep): ceiling {r['rows']['ceiling']:.0%}, buffer {r['rows']['buffer']:.0%} "
            f"on all {r['questions']} questions",
        ]
    lines += [
        f"- one sleep, budget {r['minutes']:g} min: {r['sleep_wall_s'] / 60:.1f} min wall "
        f"({r['sleep_wall_s'] / budget_s:.2f}x the budget); learned {len(meta.get('passages') or [])} "
        f"passages ({new_learned} new tokens, {new_learned / max(1, r['new_tokens']):.1%} of the vault), "
        f"deferred {len(meta.get('deferred_passages') or [])}, about {meta.get('nights_left')} more nights"
        + ("; training cut at the deadline" if meta.get("training_cut") else ""),
        f"- sleep cost: {meta.get('train_tokens_per_new_token') or 0:.1f} training tokens per new token; "
        f"{r['sleep_wall_s'] / max(1, new_learned) * 1000:.0f} s of sleep per 1k new tokens learned",
        "",
        f"## recall on the {r['fit_questions']} of {r['questions']} questions whose notes the sleep learned",
        "",
        "| row | right | / ceiling | / buffer |",
        "|---|---|---|---|",
    ]
    for name, v in rows.items():
        lines.append(
            f"| {name} | {v:.0%} | {v / ceiling if ceiling else 0:.2f}x "
            f"| {v / buffer if buffer else 0:.2f}x |"
        )
    return lines


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vault", required=True)
    parser.add_argument("--questions", default=str(HERE / "sets" / "vault-tldr" / "questions.json"))
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--tag", default="")
    parser.add_argument("--no-sleep", action="store_true", help="stop after the buffer rows")
    parser.add_argument("--note-tokens", type=int, help="recall.note_tokens (default: the config's)")
    args = parser.parse_args()
    result = run(args)
    text = "\n".join(table(result))
    print(text)
    out = HERE / "results"
    name = f"vault-{Path(args.vault).resolve().name}{args.tag}"
    (out / f"{name}.md").write_text(text + "\n")
    (out / f"{name}.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
