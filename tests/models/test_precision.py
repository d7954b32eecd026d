"""The number format follows the hardware: bf16 only where native and measured faster, else fp32;
the config's explicit setting wins; a sleep trains in what the choice says and records why."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from sleepd.models import precision
from sleepd.models.precision import ProbeResult, cached_probe, choose_precision, cpu_flags
from sleepd.storage import Config, NewPassage, Store
from sleepd.storage.config import ConfigError, load_config

NATIVE = frozenset({"avx2", "avx512_bf16"})
EMULATED = frozenset({"avx2", "fma"})
FASTER = ProbeResult(fp32_gflops=170.0, bf16_gflops=800.0)
SLOWER = ProbeResult(fp32_gflops=98.0, bf16_gflops=16.0)


def _probe(result: ProbeResult, calls: list[str]):  # type: ignore[no-untyped-def]
    def run(use: str) -> ProbeResult:
        calls.append(use)
        return result

    return run


def test_no_native_bf16_means_fp32_without_probing() -> None:
    calls: list[str] = []
    chosen = choose_precision("auto", "train", flags=EMULATED, probe=_probe(FASTER, calls))
    assert chosen.dtype == "fp32" and not chosen.bf16 and "no native bf16" in chosen.reason
    assert calls == []  # the flags alone decide: emulated bf16 is never probed, never chosen


def test_auto_follows_the_probe_on_a_cpu_with_native_bf16() -> None:
    calls: list[str] = []
    fast = choose_precision("auto", "train", flags=NATIVE, probe=_probe(FASTER, calls))
    assert fast.dtype == "bf16" and "avx512_bf16" in fast.reason and "4.71x" in fast.reason
    slow = choose_precision("auto", "train", flags=NATIVE, probe=_probe(SLOWER, calls))
    assert slow.dtype == "fp32" and "0.16x" in slow.reason
    tie = ProbeResult(fp32_gflops=32.0, bf16_gflops=40.0)  # decoding's shape: memory-bound, 1.25x
    assert choose_precision("auto", "serve", flags=NATIVE, probe=_probe(tie, calls)).dtype == "fp32"
    assert choose_precision("auto", "train", flags=NATIVE, probe=_probe(tie, calls)).dtype == "bf16"
    assert calls == ["train", "train", "serve", "train"]


def test_an_explicit_setting_wins_over_hardware_and_probe() -> None:
    calls: list[str] = []
    assert choose_precision("bf16", "train", flags=EMULATED, probe=_probe(SLOWER, calls)).dtype == "bf16"
    assert choose_precision("fp32", "train", flags=NATIVE, probe=_probe(FASTER, calls)).dtype == "fp32"
    assert calls == []
    with pytest.raises(ValueError, match="dtype must be one of"):
        choose_precision("fp16", "train")


def test_cuda_uses_bf16_where_the_gpu_has_it() -> None:
    assert choose_precision("auto", "train", device="cuda", cuda_bf16=True).dtype == "bf16"
    assert choose_precision("auto", "train", device="cuda", cuda_bf16=False).dtype == "fp32"


def test_the_probe_is_cached_per_machine_and_survives_a_broken_file(tmp_path: Path) -> None:
    cache = tmp_path / "precision.json"
    calls: list[str] = []
    probe = cached_probe(cache, "cpu A", _probe(FASTER, calls))
    assert probe("train") == FASTER and probe("train") == FASTER
    assert calls == ["train"]  # the second came from the file
    assert cached_probe(cache, "cpu A", _probe(SLOWER, calls))("train") == FASTER
    assert cached_probe(cache, "cpu B", _probe(SLOWER, calls))("train") == SLOWER  # another machine
    assert set(json.loads(cache.read_text())) == {"cpu A", "cpu B"}
    cache.write_text("{not json")
    assert cached_probe(cache, "cpu A", _probe(SLOWER, calls))("train") == SLOWER
    assert calls == ["train", "train", "train"]


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu avx2 amx_bf16 avx512f\n")
    assert {"avx2", "amx_bf16"} <= cpu_flags(info)
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_probe_matmul_measures_both_formats() -> None:
    result = precision.probe_matmul("serve", seconds=0.01)
    assert result.fp32_gflops > 0 and result.bf16_gflops > 0


def test_config_takes_auto_bf16_fp32_and_the_old_bf16_switch(sleepd_home: Path) -> None:
    from sleepd.storage import Paths

    paths = Paths.from_env()
    paths.ensure()
    assert load_config(paths).sleep.dtype == "auto" and load_config(paths).model.dtype == "auto"
    paths.config_file.write_text("[sleep]\nbf16 = false\n")
    assert load_config(paths).sleep.dtype == "fp32"
    paths.config_file.write_text('[sleep]\ndtype = "fp16"\n')
    with pytest.raises(ConfigError, match="sleep.dtype must be one of auto, bf16, fp32"):
        load_config(paths)
    paths.config_file.write_text('[model]\ndtype = "half"\n')
    with pytest.raises(ConfigError, match="model.dtype"):
        load_config(paths)


def _cache_probe(config: Config, result: ProbeResult) -> None:
    """What an earlier probe on this (pretended native-bf16) machine measured."""
    key = precision.machine_key(NATIVE)
    entry = {key: {"train": dataclasses.asdict(result), "serve": dataclasses.asdict(SLOWER)}}
    (config.paths.state_dir / precision.CACHE_FILE).write_text(json.dumps(entry))


@pytest.mark.parametrize(("measured", "expected"), [(SLOWER, "fp32"), (FASTER, "bf16")])
def test_a_default_sleep_trains_in_the_format_the_probe_chose(
    tiny_config: Config,
    tiny_store: Store,
    monkeypatch: pytest.MonkeyPatch,
    measured: ProbeResult,
    expected: str,
) -> None:
    from sleepd.memory.sleeping import pipeline as sleep_module
    from sleepd.memory.sleeping.pipeline import run_sleep
    from sleepd.memory.versions import memory_of

    monkeypatch.setattr(precision, "cpu_flags", lambda *_: NATIVE)  # whatever this CPU has
    _cache_probe(tiny_config, measured)
    seen: list[bool] = []
    real_train = sleep_module.train_lora

    def train_spy(model, examples, cfg, **kw):  # type: ignore[no-untyped-def]
        seen.append(cfg.bf16)
        return real_train(model, examples, cfg, **kw)

    monkeypatch.setattr(sleep_module, "train_lora", train_spy)
    config = dataclasses.replace(tiny_config, sleep=dataclasses.replace(tiny_config.sleep, dtype="auto"))
    sid = tiny_store.upsert_source("/notes/a.md")
    tiny_store.add_passages(sid, [NewPassage("Server kestrel-9 listens on port 7001. Owner: Ines.", 12)])
    result = run_sleep(config, tiny_store)
    meta = memory_of(config).info(result.version).meta
    assert meta["precision"]["dtype"] == expected and seen == [expected == "bf16"]
    report = (memory_of(config).path_of(result.version) / "report.md").read_text()
    assert f"number format: {expected} (native bf16 (avx512_bf16)" in report


def test_status_shows_the_cached_choice_without_a_daemon(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(precision, "cpu_flags", lambda *_: NATIVE)
    unknown = precision.known_choices("auto", "auto", config.paths.state_dir)
    assert unknown["sleep"]["reason"] == "a probe decides at the next start"
    _cache_probe(config, FASTER)
    known = precision.known_choices("auto", "auto", config.paths.state_dir)
    assert known["sleep"]["dtype"] == "bf16" and known["serve"]["dtype"] == "fp32"
    assert precision.known_choices("fp32", "bf16", config.paths.state_dir)["sleep"]["dtype"] == "bf16"


def test_the_device_follows_the_config(sleepd_home: Path) -> None:
    from sleepd.models.precision import DeviceError, resolve_device

    assert resolve_device("cpu", lambda: True) == "cpu"
    assert resolve_device("auto", lambda: True) == "cuda"
    assert resolve_device("auto", lambda: False) == "cpu"
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        resolve_device("cuda", lambda: False)
    # on CUDA, auto is bf16 where the GPU has it, and an explicit format still wins
    assert choose_precision("auto", "train", device="cuda", cuda_bf16=True).dtype == "bf16"
    assert choose_precision("fp32", "serve", device="cuda", cuda_bf16=True).dtype == "fp32"
    (sleepd_home / "config").mkdir(parents=True)
    (sleepd_home / "config" / "config.toml").write_text('[model]\ndevice = "tpu"\n')
    with pytest.raises(ConfigError, match="model.device must be one of auto, cpu, cuda"):
        load_config()


def test_a_tiny_model_loads_on_the_configured_device(tiny_config: Config) -> None:
    from sleepd.models.model import load_model

    cpu = dataclasses.replace(tiny_config, model=dataclasses.replace(tiny_config.model, device="cpu"))
    assert load_model(cpu).model.device.type == "cpu"
    auto = load_model(tiny_config)  # "auto": CUDA where torch sees it, else the CPU
    import torch

    assert auto.model.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
