"""Memory benchmark: `sleepd eval` on a set with the general probe, written to bench/results/.

Usage: .venv/bin/python bench/memory.py [--set devset|squad|squad-large|locomo|DIR] [--batches 1]
           [--no-baselines] [--no-speed] [--no-greedy] [--forget SRC] [--tag T] [--prior config|none|compare]
           [--vs KEY=VALUE[,KEY=VALUE...] ...]
``--vs epochs=4`` runs that recipe first and the configured one after it, in one run;
each ``--vs`` is one more recipe (``--vs epochs=3,cloze_queries=1 --vs epochs=4``).
``--prior compare`` runs the sleep without and with the consolidation prior in one run (the base
rows measured once) and prints the questions the prior's writer wrote for the set's first two files.
A set is ../shared/bench/<name> or any DIR holding docs/ and questions.json.
The recipe is the config of SLEEPD_HOME (e.g. [sleep] layer_share, layer_choice).
Prints the eval table and writes bench/results/memory-<set>-b<N><tag>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _matrix(rows: list[list[float | None]]) -> str:
    return "; ".join(" ".join("-" if v is None else f"{v:.2f}" for v in row) for row in rows)


ROWS = [
    ("ceiling (note in prompt)", "ceiling"),
    ("no memory", "before"),
    ("buffer (BM25 notes in prompt, before the sleep)", "buffer"),
    ("closed-book after the sleep(s)", "after"),
    ("default chat after the sleep(s) (weights + buffer)", "chat"),
]


def result_table(result: dict, title: str, batches: int) -> list[str]:
    kinds = sorted({k for row in result["kinds"].values() for k in row})
    ceiling = result["ceiling"]
    table = [f"## {title}: {result['questions']} questions", ""]
    table += [
        "| row | right | / ceiling | " + " | ".join(kinds) + " |",
        "|---|---|---|" + "---|" * len(kinds),
    ]
    for name, key in ROWS:
        per_kind = [f"{result['kinds'][key].get(k, 0):.0%}" for k in kinds]
        vs = f"{result[key] / ceiling:.2f}x" if ceiling else "-"
        table.append(f"| {name} | {result[key]:.0%} | {vs} | " + " | ".join(per_kind) + " |")
    table += [f"| baseline: {k} | {v:.0%} | | |" for k, v in result["baselines"].items() if k != "no_memory"]
    if greedy := result.get("greedy"):
        table += [
            f"| closed-book, greedy recitation (no ranking by the writer) | {greedy['after']:.0%} | "
            f"{greedy['after'] / ceiling:.2f}x | " + " | ".join("" for _ in kinds) + " |",
            f"| default chat, greedy recitation | {greedy['chat']:.0%} | {greedy['chat'] / ceiling:.2f}x | "
            + " | ".join("" for _ in kinds)
            + " |",
        ]
    buffer = result["buffer"]
    writing = result.get("question_writing") or {}
    table += [
        "",
        f"- closed-book / buffer: {result['after'] / buffer:.2f}x" if buffer else "- buffer: 0",
        f"- general answers kept: closed-book {_share(result['general_kept'])}"
        f" (of {result['general_base_correct']} base-right);"
        f" default chat {_share(result.get('general_kept_chat'))}"
        + (f"; closed-book with greedy recitations {_share(greedy['general_kept'])}" if greedy else ""),
        f"- cost: {result['train_tokens_per_new_token']:.1f} training tokens per new token "
        f"({result['new_tokens']} new tokens); {result['sleep_seconds_per_1k_new_tokens']:.0f} s of sleep "
        f"per 1k new tokens; sleeps {', '.join(f'{t:.0f} s' for t in result['sleep_seconds'])}",
        f"- train speed: {result['train_tokens_per_s']:.0f} tokens/s"
        f" in {result['precision']['dtype']} ({result['precision']['reason']})",
        f"- prior: {writing.get('prior') or 'none'}"
        + (
            f"; {writing['questions']} questions written for {writing['facts_with_question']} of "
            f"{writing['facts']} facts in {writing['seconds']:.0f} s (in the sleep's time)"
            if writing.get("prior")
            else ""
        ),
        f"- passages left pending (nothing to train on): {result['held_passages']}",
        *(f"- sleep {r['sleep']} rejected by the gate: {r['reason']}" for r in result["rejected_sleeps"]),
        f"- retention (row: batch, column: after sleep j): {_matrix(result['retention'])}",
    ]
    if result.get("forget"):
        f = result["forget"]
        table += [
            f"- forget {f['source']} ({f['questions']} questions), one more sleep: its recall "
            f"{f['forgotten_before']:.0%} -> {f['forgotten_after']:.0%}; other questions "
            f"{f['others_before']:.0%} -> {f['others_after']:.0%} (kept {f['others_kept'] or 0:.2f}x)"
        ]
    return table


def compare_table(results: dict[str, dict]) -> list[str]:
    """One row per figure, one column per recipe or run; each ratio is against its own column's
    ceiling (recipes of one run share theirs)."""
    names = list(results)
    table = ["| row | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, key in ROWS:
        cells = [
            f"{r[key]:.0%} ({r[key] / r['ceiling']:.2f}x)" if r["ceiling"] else f"{r[key]:.0%}"
            for r in results.values()
        ]
        table.append(f"| {label} | " + " | ".join(cells) + " |")
    extra = [
        ("general answers kept, closed-book", lambda r: f"{r['general_kept'] or 0:.0%}"),
        ("general answers kept, default chat", lambda r: f"{r.get('general_kept_chat') or 0:.0%}"),
        ("training tokens per new token", lambda r: f"{r['train_tokens_per_new_token']:.1f}"),
        ("sleep s per 1k new tokens", lambda r: f"{r['sleep_seconds_per_1k_new_tokens']:.0f}"),
        ("sleep rejected by the gate", lambda r: "yes" if r["rejected_sleeps"] else "no"),
    ]
    table += [f"| {label} | " + " | ".join(fn(r) for r in results.values()) + " |" for label, fn in extra]
    return table


def writer_sample(config: object, docs: Path, n_docs: int = 2) -> list[str]:
    """The questions the prior's writer writes for the facts of the set's first ``n_docs`` files."""
    from sleepd.memory.facts import WordSignal, passage_facts
    from sleepd.memory.prior import prior_for_source
    from sleepd.memory.questions import QuestionWriter, WriterConfig
    from sleepd.models.model import load_model

    lm = load_model(config)
    prior = prior_for_source(config, lm.source)
    if prior is None or prior.writer_dir is None:
        return ["(no prior with a question writer for this model)"]
    writer = QuestionWriter.load(lm.model, lm.tokenizer, prior.writer_dir, prior.writer_id)
    lines = [f"## Questions the writer ({prior.name}) wrote, first {n_docs} files", ""]
    for f in sorted(p for p in docs.rglob("*") if p.is_file())[:n_docs]:
        facts = passage_facts(f.read_text())
        written = writer.write(facts, WordSignal(lm.tokenizer), WriterConfig())
        lines.append(f"### {f.relative_to(docs)}")
        for fact in facts:
            lines.append(f"- fact: {fact.body[:160]}{'...' if len(fact.body) > 160 else ''}")
            lines += [f"  - {q}" for q in written.get(fact.text, [])] or ["  - (none passed the check)"]
        lines.append("")
    return lines


def sleep_with(sleep: Any, pairs: list[str]) -> Any:
    """``sleep`` with ``KEY=VALUE`` pairs set, each value parsed as TOML (``false``, ``2``, ``"x"``)."""
    import dataclasses
    import tomllib

    changes = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if not hasattr(sleep, key):
            raise SystemExit(f"--vs: [sleep] has no key {key!r}")
        changes[key] = tomllib.loads(f"v = {value}")["v"]
    return dataclasses.replace(sleep, **changes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="devset", help="devset, squad, squad-large, locomo or a DIR")
    parser.add_argument("--batches", type=int, default=1)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--forget", help="a devset source to forget after the last sleep, e.g. notes/x.md")
    parser.add_argument("--no-speed", action="store_true", help="skip the training speed comparison")
    parser.add_argument(
        "--no-greedy",
        action="store_true",
        help="skip the rows with greedy recitations (what the writer's ranking adds; a third of the run)",
    )
    parser.add_argument("--tag", default="", help="suffix of the result files, e.g. -last10")
    parser.add_argument(
        "--prior",
        choices=("config", "none", "compare"),
        default="config",
        help="the consolidation prior: as configured, off, or both in one run (off first)",
    )
    parser.add_argument(
        "--vs",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="compare with the recipe that sets [sleep] KEY=VALUE[,KEY=VALUE...], run before the "
        "configured one in the same run (e.g. --vs epochs=3,cloze_queries=1); repeat for more recipes",
    )
    args = parser.parse_args()

    import dataclasses

    from sleepd.evaluation.questions import load_questions
    from sleepd.evaluation.run import EvalOptions, run_eval
    from sleepd.storage import load_config

    config = load_config()
    bench_set = Path(args.set) if Path(args.set).is_dir() else SHARED / args.set
    recipes = {"configured": config}
    if args.prior in ("none", "compare"):
        off = dataclasses.replace(config, sleep=dataclasses.replace(config.sleep, prior="none"))
        recipes = {"without prior": off}
        if args.prior == "compare":
            on = (
                config
                if config.sleep.prior != "none"
                else dataclasses.replace(config, sleep=dataclasses.replace(config.sleep, prior="auto"))
            )
            recipes["with prior"] = on
    others = {
        " ".join(vs.split(",")): dataclasses.replace(config, sleep=sleep_with(config.sleep, vs.split(",")))
        for vs in args.vs
    }
    recipes = {**others, **recipes}
    results, traces, base_rows = {}, {}, {}
    for name, recipe in recipes.items():
        print(f"== {name} ==", file=sys.stderr, flush=True)
        traces[name] = []
        results[name] = run_eval(
            recipe,
            bench_set / "docs",
            load_questions(bench_set / "questions.json"),
            load_questions(SHARED / "general" / "probe.json"),
            EvalOptions(args.batches, not args.no_baselines, args.forget, not args.no_greedy),
            log=lambda m: print(m, file=sys.stderr, flush=True),
            trace=traces[name],
            base_rows=base_rows,
        )
    table = []
    if len(results) > 1:
        table += [f"# {bench_set.name}: recipes compared in one run", "", *compare_table(results), ""]
    for name, res in results.items():
        table += result_table(
            res, f"{bench_set.name} ({name})" if len(results) > 1 else bench_set.name, args.batches
        )
        table.append("")
    if args.prior == "compare":
        table += writer_sample(recipes["with prior"], bench_set / "docs")
    result = results if len(results) > 1 else next(iter(results.values()))
    trace = traces if len(results) > 1 else next(iter(traces.values()))
    if not args.no_speed:
        sys.path.insert(0, str(HERE))
        from train_speed import measure

        rates = measure(config, log=lambda m: print(m, file=sys.stderr, flush=True))
        result["train_speed"] = rates
        base = next(iter(rates.values()))
        table += ["", "| training variant (same examples) | tokens/s | vs baseline |", "|---|---|---|"]
        table += [f"| {name} | {rate:.0f} | {rate / base:.2f}x |" for name, rate in rates.items()]
        configured = list(rates.values())[-1]
        result["train_speed_ratio"] = configured / base
        ratio = f"{configured / base:.2f}x"
        table += ["", f"- training speed of the configured recipe: {ratio} the plain fp32 baseline"]
    text = "\n".join(table)
    print(text)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    name = f"memory-{bench_set.name}-b{args.batches}{args.tag}"
    (out / f"{name}.md").write_text(text + "\n")
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    # per-question record of the last sleep's answers: what was recited, kept, dropped
    (out / f"{name}-trace.json").write_text(json.dumps(trace, indent=1))


if __name__ == "__main__":
    main()
