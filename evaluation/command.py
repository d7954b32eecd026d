"""`sleepd eval` as the evaluation package runs it: which set, its questions, the run, the text.

The CLI verb only hands its options over (``eval_command``) and prints ``render_text``; nothing of
the evaluation runs in the CLI module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sleepd.storage.config import Config
from sleepd.storage.errors import SleepdError

from .questions import load_questions
from .run import EvalOptions, Log, run_eval

# the sets of ../shared/bench, beside the checkout
SHARED_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


class EvalInputError(SleepdError, ValueError):
    """The set, the docs or the questions of an eval cannot be used."""


def resolve_set(bench_set: str | None, docs: str | None, questions: str | None) -> tuple[Path, Path]:
    """(docs folder, questions file) from --set (a folder, or a name in ../shared/bench) or both paths."""
    if bench_set:
        root = Path(bench_set)
        if not root.is_dir():
            root = SHARED_BENCH / bench_set
        docs, questions = docs or str(root / "docs"), questions or str(root / "questions.json")
    if not docs or not questions:
        raise EvalInputError("give --set, or both --docs and --questions")
    if not Path(docs).is_dir():
        raise EvalInputError(f"not a folder: {docs}")
    return Path(docs), Path(questions)


def eval_command(
    config: Config,
    *,
    bench_set: str | None = None,
    docs: str | None = None,
    questions: str | None = None,
    general: str | None = None,
    batches: int = 1,
    baselines: bool = True,
    forget: str | None = None,
    log: Log = lambda _m: None,
) -> dict[str, Any]:
    """Measure memory on a set in a throwaway home; one-line ``EvalInputError`` for bad input."""
    if batches < 1:
        raise EvalInputError("--batches must be at least 1")
    docs_dir, questions_file = resolve_set(bench_set, docs, questions)
    try:
        qs = load_questions(questions_file)
        gq = load_questions(Path(general)) if general else None
    except (OSError, ValueError, KeyError) as e:
        raise EvalInputError(f"cannot read questions: {e}") from None
    return run_eval(config, docs_dir, qs, gq, EvalOptions(batches, baselines, forget), log=log)


ROWS = (
    ("ceiling", "ceiling"),
    ("no memory", "before"),
    ("buffer", "buffer"),
    ("closed-book", "after"),
    ("chat default", "chat"),
)


def render_text(result: dict[str, Any]) -> list[str]:
    """The result as `sleepd eval` prints it: one row per measure, per question kind."""
    lines = [f"questions     {result['questions']}"]
    kinds = sorted({k for row in result["kinds"].values() for k in row})
    if kinds:
        lines.append(" " * 14 + "  ".join(f"{k[:10]:>10}" for k in kinds))
    for label, key in ROWS:
        per_kind = "  ".join(f"{result['kinds'][key].get(k, 0):>10.2f}" for k in kinds)
        lines.append(f"{label:<13} {result[key]:.2f}  {per_kind}")
    lines += [f"baseline {key:<12} {value:.2f}" for key, value in result["baselines"].items()]
    if result["general_kept"] is not None:
        lines.append(f"general kept  {result['general_kept']:.2f} of {result['general_base_correct']}")
    precision = result["precision"]
    lines += [
        f"train speed   {result['train_tokens_per_s']:.0f} tokens/s",
        f"precision     {precision['dtype']} ({precision['reason']})",
        f"sleep time    {result['sleep_seconds_per_1k_new_tokens']:.0f} s per 1k new tokens",
        f"train tokens  {result['train_tokens_per_new_token']:.1f} per new token",
    ]
    lines += [f"sleep {r['sleep']} rejected by the gate: {r['reason']}" for r in result["rejected_sleeps"]]
    if result.get("forget"):
        f = result["forget"]
        lines.append(
            f"forget {f['source']}: its recall {f['forgotten_before']:.2f} -> {f['forgotten_after']:.2f}, "
            f"others {f['others_before']:.2f} -> {f['others_after']:.2f}"
        )
    lines.append("retention (row: batch, column: after sleep j)")
    lines += [
        f"  {i + 1}: " + "  ".join("  -  " if v is None else f"{v:.2f}" for v in row)
        for i, row in enumerate(result["retention"])
    ]
    return lines
