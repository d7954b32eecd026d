"""Each memory version's ``report.md`` and ``report.png``: what the sleep learned and how it went.

Written from the version's metadata into its directory before the directory is renamed into place,
so a version and its report appear together. ``sleepd memory show N`` prints the markdown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def render_markdown(version: int, meta: dict[str, Any]) -> str:
    losses = meta.get("losses") or []
    gate = meta.get("gate") or {}
    layers = meta.get("layers") or []
    scores = meta.get("layer_scores") or []
    tps = meta["train_tokens"] / meta["train_seconds"] if meta.get("train_seconds") else 0.0
    precision = meta.get("precision") or {}
    lines = [
        f"# Memory version {version}",
        "",
        f"- base model: {meta.get('base_model')}; parent version: {meta.get('parent') or 'none (base)'}",
        f"- new passages: {len(meta.get('passages', []))}; replayed: {len(meta.get('replay_passages', []))}; "
        f"forgotten: {len(meta.get('forgotten_passages', []))} ({len(meta.get('unlearned', []))} queries "
        f"unlearned); left pending: {len(meta.get('held_passages') or {})}",
        f"- deferred to the next sleep (budget spent): {len(meta.get('deferred_passages') or [])} passages, "
        f"about {meta.get('nights_left', 0)} more night(s) at this budget"
        + ("; training was cut at the budget's deadline" if meta.get("training_cut") else ""),
        f"- cost: {_num(meta.get('train_tokens_per_new_token'))} training tokens per new token, "
        f"{_num(meta.get('seconds_per_1k_new_tokens'))} s per 1k new tokens",
        f"- training examples: {meta.get('examples')} (rehearsal: {meta.get('dream_examples', 0)}); "
        f"{meta.get('train_tokens', 0)} tokens in {meta.get('train_seconds', 0):.0f} s ({tps:.0f} tokens/s)",
        f"- number format: {precision.get('dtype', '-')} ({precision.get('reason', 'not recorded')})",
        f"- loss: first {losses[0]:.3f}, last {losses[-1]:.3f} over {len(losses)} steps"
        if losses
        else "- loss: -",
        f"- layers trained ({len(layers)} of {len(scores)}): {_ranges(layers)}",
        f"- recall probe on new passages: before {_pct(meta.get('probe_before'))}, "
        f"after {_pct(gate.get('recall'))}",
        f"- recall probe on replayed passages: before {_pct(meta.get('replay_probe_before'))}, "
        f"after {_pct(gate.get('replay_recall'))}",
        f"- general answers kept: {_pct(gate.get('general_kept'))}",
        "",
        "![loss, layer scores, recall probe](report.png)",
    ]
    if scores:
        top = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)[:5]
        lines += [
            "",
            "Highest layer scores (normalised Fisher): " + ", ".join(f"{i}: {scores[i]:.3f}" for i in top),
        ]
    return "\n".join(lines) + "\n"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _ranges(layers: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'"""
    out: list[str] = []
    for n in sorted(layers):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out) or "-"


def plot_png(path: Path, meta: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_layers, ax_probe) = plt.subplots(1, 3, figsize=(13, 3.6))
    losses = meta.get("losses") or []
    ax_loss.plot(range(1, len(losses) + 1), losses, color="tab:blue")
    ax_loss.set(title="training loss", xlabel="step", ylabel="loss")

    scores = meta.get("layer_scores") or []
    chosen = set(meta.get("layers") or [])
    colors = ["tab:orange" if i in chosen else "lightgrey" for i in range(len(scores))]
    ax_layers.bar(range(len(scores)), scores, color=colors)
    ax_layers.set(title="layer scores (orange: trained)", xlabel="layer", ylabel="normalised Fisher")

    gate = meta.get("gate") or {}
    bars = {
        "new\nbefore": meta.get("probe_before"),
        "new\nafter": gate.get("recall"),
        "replay\nbefore": meta.get("replay_probe_before"),
        "replay\nafter": gate.get("replay_recall"),
    }
    colors = ["lightgrey", "tab:green", "lightgrey", "tab:purple"]
    ax_probe.bar(list(bars), [v or 0.0 for v in bars.values()], color=colors)
    ax_probe.set(title="recall probe", ylim=(0, 1), ylabel="share recited")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_report(directory: Path, version: int, meta: dict[str, Any]) -> None:
    (directory / "report.md").write_text(render_markdown(version, meta))
    plot_png(directory / "report.png", meta)
