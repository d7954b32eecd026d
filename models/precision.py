"""Which number format sleep trains in and chat serves in, chosen by what the hardware does fast.

bf16 halves the bytes of every weight and activation, but on a CPU without native bf16 (no
AVX512-BF16, no AMX: most laptops) torch emulates it, several times slower than fp32
(docs/decisions.md). So ``"auto"`` picks bf16 only where it is native *and* a short matmul probe
timed it faster, and fp32 everywhere else:

- CUDA: bf16 where the GPU supports it;
- CPU: no ``avx512_bf16`` / ``amx_bf16`` flag in /proc/cpuinfo -> fp32 without probing;
  a flag -> the probe (both formats, a matmul of the shape the use runs), cached per machine.

Training runs [tokens, hidden] x [hidden, 4*hidden] matmuls; decoding one token at a time runs
[1, hidden] x [hidden, 4*hidden], which is bound by memory, not arithmetic, so each use is probed
on its own shape. Explicit ``"bf16"`` / ``"fp32"`` settings always win.

Importing this module does not import torch (``sleepd status`` reads the cached choice).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sleepd.storage.config import Config
from sleepd.storage.errors import SleepdError

log = logging.getLogger(__name__)

SETTINGS = ("auto", "bf16", "fp32")
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
# bf16 must beat fp32 by this much: a tie is not worth its 8-bit mantissa. Serving asks more: its
# format changes every answer, and decoding's probe sits near a tie, where noise must not flip it.
MIN_SPEEDUP = {"train": 1.2, "serve": 1.5}
# (rows, inner, cols) of each use's matmul, the bundled model's MLP (hidden 576, intermediate 1536)
PROBE_SHAPES = {"train": (512, 576, 1536), "serve": (1, 576, 1536)}
CACHE_FILE = "precision.json"


@dataclass(frozen=True)
class Precision:
    dtype: str  # "bf16" or "fp32"
    reason: str  # one line: why this format, for status, the sleep report and eval

    @property
    def bf16(self) -> bool:
        return self.dtype == "bf16"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class ProbeResult:
    fp32_gflops: float
    bf16_gflops: float

    @property
    def speedup(self) -> float:
        """bf16's rate over fp32's."""
        return self.bf16_gflops / self.fp32_gflops if self.fp32_gflops else 0.0


Probe = Callable[[str], ProbeResult]  # use ("train" | "serve") -> both formats' rates


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (Linux); empty where /proc/cpuinfo does not say."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16_flags(flags: frozenset[str]) -> list[str]:
    return [f for f in NATIVE_BF16_FLAGS if f in flags]


def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(flags: frozenset[str]) -> str:
    """What a cached probe is valid for: this CPU, its bf16 flags, the cores torch may use and the
    torch version (its kernels change between releases). Read without importing torch."""
    import importlib.metadata

    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = "none"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu_name()}|{','.join(native_bf16_flags(flags)) or '-'}|{cores} cores|torch {torch_version}"


def probe_matmul(use: str, seconds: float = 0.15) -> ProbeResult:
    """Time the use's matmul in fp32 and in bf16 for about ``seconds`` each (after a warm-up)."""
    import torch

    rows, inner, cols = PROBE_SHAPES[use]
    rates = []
    for dtype in (torch.float32, torch.bfloat16):
        a = torch.randn(rows, inner, dtype=dtype)  # [rows, inner]
        b = torch.randn(inner, cols, dtype=dtype)  # [inner, cols]
        for _ in range(3):
            a @ b
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds or n < 3:
            a @ b
            n += 1
        rates.append(2 * rows * inner * cols * n / elapsed / 1e9)
    return ProbeResult(fp32_gflops=rates[0], bf16_gflops=rates[1])


def read_cache(cache_file: Path, key: str) -> dict[str, ProbeResult]:
    """The probes cached for this machine (``key``), by use; empty if none or unreadable."""
    try:
        entry = json.loads(cache_file.read_text(encoding="utf-8")).get(key, {})
        return {use: ProbeResult(**r) for use, r in entry.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def cached_probe(cache_file: Path | None, key: str, probe: Probe = probe_matmul) -> Probe:
    """``probe``, with each use's result kept in ``cache_file`` under this machine's ``key``."""

    def run(use: str) -> ProbeResult:
        if cache_file is not None and use in (have := read_cache(cache_file, key)):
            return have[use]
        result = probe(use)
        log.info(
            "precision probe (%s): fp32 %.0f GFLOP/s, bf16 %.0f GFLOP/s",
            use,
            result.fp32_gflops,
            result.bf16_gflops,
        )
        if cache_file is not None:
            try:
                whole = json.loads(cache_file.read_text(encoding="utf-8")) if cache_file.exists() else {}
            except (OSError, ValueError):
                whole = {}
            whole.setdefault(key, {})[use] = asdict(result)
            tmp = cache_file.with_suffix(".tmp")
            cache_file.parent.mkdir(parents=True, exist_ok=True)  # a state dir not made yet
            tmp.write_text(json.dumps(whole, indent=1), encoding="utf-8")
            os.replace(tmp, cache_file)
        return result

    return run


def choose_precision(
    setting: str,
    use: str,
    *,
    device: str = "cpu",
    flags: frozenset[str] | None = None,
    probe: Probe | None = None,
    cuda_bf16: bool = False,
) -> Precision:
    """The format for ``use`` ("train" or "serve") under ``setting`` ("auto", "bf16", "fp32")."""
    if setting not in SETTINGS:
        raise ValueError(f"dtype must be one of {', '.join(SETTINGS)}, got {setting!r}")
    if setting != "auto":
        return Precision(setting, f"set in the config ({setting})")
    if device == "cuda":
        return Precision("bf16", "CUDA with bf16") if cuda_bf16 else Precision("fp32", "CUDA without bf16")
    flags = cpu_flags() if flags is None else flags
    native = native_bf16_flags(flags)
    if not native:
        return Precision("fp32", "no native bf16 on this CPU (no avx512_bf16 / amx_bf16): emulated, slower")
    result = (probe or probe_matmul)(use)
    measured = f"{result.speedup:.2f}x fp32 on a {use} matmul"
    if result.speedup >= MIN_SPEEDUP[use]:
        return Precision("bf16", f"native bf16 ({', '.join(native)}), timed {measured}")
    return Precision("fp32", f"native bf16 ({', '.join(native)}) but the probe timed only {measured}")


class DeviceError(SleepdError, RuntimeError):
    """The configured device is not on this machine."""


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(setting: str, cuda_available: Callable[[], bool] = _cuda_available) -> str:
    """``model.device`` on this machine: "cpu", or "cuda" when set or (for "auto") when torch sees
    a GPU. "cpu" never imports torch's CUDA probe; "cuda" without a GPU is one clear error."""
    if setting == "cpu":
        return "cpu"
    if cuda_available():
        return "cuda"
    if setting == "cuda":
        raise DeviceError("model.device is 'cuda' but torch sees no CUDA GPU here; set it to 'auto' or 'cpu'")
    return "cpu"


def resolve(setting: str, use: str, state_dir: Path | None, device: str = "cpu") -> Precision:
    """``choose_precision`` on this machine, its probe cached in ``state_dir`` (none: not cached)."""
    flags = cpu_flags()
    cuda_bf16 = False
    if device == "cuda":
        import torch

        cuda_bf16 = torch.cuda.is_bf16_supported()
    cache = state_dir / CACHE_FILE if state_dir is not None else None
    probe = cached_probe(cache, machine_key(flags))
    return choose_precision(setting, use, device=device, flags=flags, probe=probe, cuda_bf16=cuda_bf16)


def describe_cached(setting: str, use: str, state_dir: Path) -> Precision | None:
    """The choice ``resolve`` would make, from what is known without running the probe (no torch):
    None where it needs a probe that has not run yet on this machine."""
    flags = cpu_flags()
    known = read_cache(state_dir / CACHE_FILE, machine_key(flags))

    def from_cache(u: str) -> ProbeResult:
        if u not in known:
            raise LookupError(u)
        return known[u]

    try:
        return choose_precision(setting, use, flags=flags, probe=from_cache)
    except LookupError:
        return None


def known_choices(serve_setting: str, sleep_setting: str, state_dir: Path) -> dict[str, dict[str, str]]:
    """Serving's and sleep's formats as ``sleepd status`` shows them without a daemon (no torch)."""
    out = {}
    for name, setting, use in (("serve", serve_setting, "serve"), ("sleep", sleep_setting, "train")):
        p = describe_cached(setting, use, state_dir)
        out[name] = p.as_dict() if p else {"dtype": setting, "reason": "a probe decides at the next start"}
    return out


def serving_precision(config: Config) -> Precision:
    """The number format chat decodes in (``model.dtype``; probed on decoding's shape)."""
    device = resolve_device(config.model.device)
    return resolve(config.model.dtype, "serve", config.paths.state_dir, device=device)
