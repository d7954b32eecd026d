"""Chat benchmark: the daemon's socket against plain in-process generation, and chat during a sleep.

In a throwaway SLEEPD_HOME (reusing the converted bundled model), on the same prompts in the same
run: time to first token and tokens/s through the unix socket (the daemon, warm) vs plain
in-process streaming generation with the same settings; then chat latency (whole answer) at idle
and while a sleep trains, p50/p95. Writes bench/results/chat.md.

Usage: .venv/bin/python bench/chat.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROMPTS = [
    "Give me three tips for a good night's sleep.",
    "What is the capital of France?",
    "Write one sentence about the sea.",
    "Explain what a verb is.",
    "Name two colours of the rainbow.",
]


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]


def through_socket(client, prompt: str) -> tuple[float, float, str]:  # type: ignore[no-untyped-def]
    """(time to first token, whole answer time, text) of one closed-book chat through the daemon."""
    start = time.perf_counter()
    first, parts = None, []
    for event in client.chat({"message": prompt, "closed_book": True, "remember": False}):
        if "token" in event:
            first = first or time.perf_counter() - start
            parts.append(event["token"])
    return first or 0.0, time.perf_counter() - start, "".join(parts)


def in_process(lm, gen, prompt: str) -> tuple[float, float, str]:  # type: ignore[no-untyped-def]
    from sleepd.memory.serving.generate import stream_generate

    start = time.perf_counter()
    first, parts = None, []
    for piece in stream_generate(lm, [{"role": "user", "content": prompt}], gen):
        first = first or time.perf_counter() - start
        parts.append(piece)
    return first or 0.0, time.perf_counter() - start, "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from throwaway_daemon import throwaway_daemon

    from sleepd.memory.serving.generate import GenerationConfig
    from sleepd.models.model import load_model

    # a long sleep, to chat during it
    with throwaway_daemon("max_new_tokens = 64\n[sleep]\nepochs = 40\ngate_min_general_kept = 0.0\n") as t:
        client, config = t.client, t.config
        m = config.model
        gen = GenerationConfig(64, m.temperature, m.repetition_penalty)
        lm = load_model(config)
        tok = lm.tokenizer
        rows: dict[str, dict[str, list[float]]] = {"socket": {}, "in-process": {}}
        for _ in range(args.rounds):
            for name, fn in (
                ("socket", lambda p: through_socket(client, p)),
                ("in-process", lambda p: in_process(lm, gen, p)),
            ):
                for prompt in PROMPTS:
                    ttft, total, text = fn(prompt)
                    n = len(tok(text, add_special_tokens=False)["input_ids"])
                    r = rows[name]
                    r.setdefault("ttft", []).append(ttft)
                    r.setdefault("total", []).append(total)
                    r.setdefault("tps", []).append(n / total if total else 0.0)
        idle = rows["socket"]["total"]

        t.ingest_devset()
        t.sleep_until_training()
        during: list[float] = []
        for _ in range(args.rounds):
            for prompt in PROMPTS:
                if not client.get("/status")["sleep"]["running"]:
                    break
                during.append(through_socket(client, prompt)[1])

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    def row(name: str, r: dict[str, list[float]]) -> str:
        return f"| {name} | {med(r['ttft']):.2f} s | {p95(r['ttft']):.2f} s | {med(r['tps']):.1f} |"

    s, p = rows["socket"], rows["in-process"]
    overhead = med(s["total"]) / med(p["total"]) - 1
    lines = [
        "| path | first token p50 | first token p95 | tokens/s p50 |",
        "|---|---|---|---|",
        row("plain in-process generate", p),
        row("through the daemon's socket", s),
        "",
        f"- socket overhead on a whole answer (median): {overhead:+.1%}",
        f"- chat latency, whole answer: idle p50 {med(idle):.2f} s, p95 {p95(idle):.2f} s; "
        + (
            f"while a sleep trains p50 {med(during):.2f} s, p95 {p95(during):.2f} s "
            f"({p95(during) / p95(idle):.2f}x idle p95, {len(during)} chats)"
            if during
            else "the sleep ended before any chat during it"
        ),
    ]
    text = "\n".join(lines)
    print(text)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "chat.md").write_text(text + "\n")
    (out / "chat.json").write_text(json.dumps({"rows": rows, "during": during}, indent=1))


if __name__ == "__main__":
    main()
