"""Concurrent OpenAI-API chats against the daemon, idle and while a sleep trains.

In a throwaway SLEEPD_HOME (the converted bundled model), the real ``openai`` client over the unix
socket sends ``--clients`` chat completions at once (each a thread), first with the daemon idle, then
while a sleep trains; it prints errors and whole-answer latency p50/p95, and the ratio of the p95
during the sleep to the idle p95 measured in the same run. Writes bench/results/api-load.md.

Usage: .venv/bin/python bench/api_load.py [--clients 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from chat import PROMPTS, p95
from throwaway_daemon import throwaway_daemon

HERE = Path(__file__).resolve().parent


def burst(socket_path: Path, n: int) -> tuple[list[float], list[float], list[str]]:
    """``n`` completions sent at once: (whole-answer latencies of the ones that answered, first-token
    latencies of the streaming ones, errors)."""
    import httpx
    import openai

    first_tokens: list[float] = []

    def one(i: int) -> float:
        http = httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path)), timeout=900)
        client = openai.OpenAI(base_url="http://sleepd/v1", api_key="unused", http_client=http, max_retries=0)
        start = time.perf_counter()
        done = client.chat.completions.create(
            model="sleepd-closed-book",
            messages=[{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
            max_tokens=32,
            stream=i % 2 == 0,  # half streaming, half not
        )
        if i % 2 == 0:
            pieces = []
            for c in done:  # type: ignore[union-attr]
                if c.choices and c.choices[0].delta.content:
                    if not pieces:
                        first_tokens.append(time.perf_counter() - start)
                    pieces.append(c.choices[0].delta.content)
            text = "".join(pieces)
        else:
            text = done.choices[0].message.content or ""  # type: ignore[union-attr]
        assert text.strip(), "empty answer"
        return time.perf_counter() - start

    latencies, errors = [], []
    with ThreadPoolExecutor(n) as pool:
        for future in [pool.submit(one, i) for i in range(n)]:
            try:
                latencies.append(future.result())
            except Exception as e:  # counted, not raised: the figure is how many fail
                errors.append(f"{type(e).__name__}: {e}"[:200])
    return latencies, first_tokens, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    with throwaway_daemon("[sleep]\nepochs = 40\ngate_min_general_kept = 0.0\n") as t:
        sock = t.config.paths.socket_path
        idle, idle_first, idle_errors = burst(sock, args.clients)
        t.ingest_devset()
        t.sleep_until_training()
        during, during_first, during_errors = burst(sock, args.clients)
        still_training = t.client.get("/status")["sleep"]["running"]

    def row(name: str, xs: list[float], first: list[float], errs: list[str]) -> str:
        if not xs:
            return f"| {name} | {len(errs)} | - | - | - |"
        ft = f"{statistics.median(first):.1f} s / {p95(first):.1f} s" if first else "-"
        return f"| {name} | {len(errs)} | {statistics.median(xs):.1f} s | {p95(xs):.1f} s | {ft} |"

    lines = [
        f"{args.clients} concurrent chat completions (openai client, unix socket, bundled model, 32 tokens)",
        "",
        "| when | errors | answer p50 | answer p95 | first token p50 / p95 (streaming) |",
        "|---|---|---|---|---|",
        row("idle", idle, idle_first, idle_errors),
        row("while a sleep trains", during, during_first, during_errors),
        "",
        f"- p95 during the sleep / idle p95: {p95(during) / p95(idle):.2f}x"
        if idle and during
        else "- no ratio: a burst failed",
        f"- the sleep was still training when the burst ended: {still_training}",
        *[f"- error: {e}" for e in (idle_errors + during_errors)[:5]],
    ]
    text = "\n".join(lines)
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "api-load.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
