"""Each base model keeps its own memory: switching re-makes the buffer's consolidation marks from
the new model's own versions, and switching back finds the first model's as they were."""

from __future__ import annotations

from pathlib import Path

from sleepd.memory.switch import align_buffer
from sleepd.memory.versions import memory_of
from sleepd.storage import Config, NewPassage, Store, open_engine
from sleepd.storage.config import set_setting


def _sleep(config: Config, store: Store, version: int, learned: list[int], forgotten: list[int] = ()) -> None:
    """What a sleep records: a version directory, the pointer, the buffer's marks."""
    versions = memory_of(config)
    parent = versions.current()
    meta = {"passages": learned, "forgotten_passages": list(forgotten)}
    path = versions.write(version, lambda tmp: (tmp / "adapter_model.safetensors").write_bytes(b"0"), meta)
    versions.set_current(version)
    store.record_version(
        version, config.model.name_or_path or "bundled", str(path), parent, learned, meta, forgotten
    )


def _marks(store: Store) -> dict[str, tuple[str, int | None]]:
    return {p.text: (p.status, p.consolidated_in) for p in store.passages()}


def test_switching_models_keeps_each_memory_apart(config: Config, tmp_path: Path) -> None:
    store = Store(open_engine(config))
    sid = store.upsert_source("/notes/a.md")
    a, b = store.add_passages(sid, [NewPassage("alpha note", 2), NewPassage("beta note", 2)])
    assert align_buffer(config, store) is None  # first start: the marks are this model's already
    _sleep(config, store, 1, [a])  # the bundled model learns alpha
    assert _marks(store) == {"alpha note": ("consolidated", 1), "beta note": ("pending", None)}

    other = set_setting(config.paths, "model", "name_or_path", str(tmp_path / "other-model"))
    assert memory_of(other).root != memory_of(config).root and memory_of(other).current() is None
    assert align_buffer(other, store) == 2  # the other model has learned nothing: both pending
    assert _marks(store) == {"alpha note": ("pending", None), "beta note": ("pending", None)}
    _sleep(other, store, 2, [a, b])
    assert align_buffer(other, store) is None

    back = set_setting(config.paths, "model", "name_or_path", None)
    assert align_buffer(back, store) == 1  # the bundled model's memory as it was: alpha, not beta
    assert _marks(store) == {"alpha note": ("consolidated", 1), "beta note": ("pending", None)}
    assert memory_of(back).current() == 1
    again = set_setting(config.paths, "model", "name_or_path", str(tmp_path / "other-model"))
    assert align_buffer(again, store) == 0
    assert _marks(store) == {"alpha note": ("consolidated", 2), "beta note": ("consolidated", 2)}
