"""ModelTurns: one holder at a time, waiting holders served in arrival order at each step, and the
adapter set the way each holder asked."""

from __future__ import annotations

import threading
import time

from sleepd.models.turns import ModelTurns


class FakePeft:
    """What ModelTurns touches of a peft model: the adapter switch (and a record of it)."""

    def __init__(self) -> None:
        self.base_model = self
        self.on = True
        self.switches: list[bool] = []
        self.active_adapter = "default"
        self.peft_config = {"default": None, "prior-reader": None}

    def set_adapter(self, name: str, inference_mode: bool = False) -> None:
        self.active_adapter = name

    def disable_adapter(self) -> None:  # marks it as a peft model
        pass

    def enable_adapter_layers(self) -> None:
        self.on = True
        self.switches.append(True)

    def disable_adapter_layers(self) -> None:
        self.on = False
        self.switches.append(False)


def test_each_turn_sets_the_adapter_and_a_hold_leaves_it_on() -> None:
    model = FakePeft()
    turns = ModelTurns(model)
    with turns.hold(adapter=False):
        assert model.on is False
    assert model.on is True  # peft's default again: code outside turns (training) sees it on
    with turns.hold(adapter=True):
        assert model.on is True and model.active_adapter == "default"
    with turns.hold("prior-reader"):  # a second adapter beside the memory, for its turn
        assert model.on is True and model.active_adapter == "prior-reader"
    assert model.active_adapter == "default" and model.on is True


def test_named_adapter_turns_interleave_with_the_memorys() -> None:
    model = FakePeft()
    turns = ModelTurns(model)
    seen: list[tuple[str, str, bool]] = []
    first_holds = threading.Event()

    def generate(name: str, adapter: bool | str) -> None:
        with turns.hold(adapter):
            first_holds.set()
            for _ in range(4):
                seen.append((name, model.active_adapter, model.on))
                time.sleep(0.01)
                turns.pass_turn(adapter)

    a = threading.Thread(target=generate, args=("reading", "prior-reader"))
    a.start()
    first_holds.wait(5)
    b = threading.Thread(target=generate, args=("reciting", True))
    b.start()
    a.join(10)
    b.join(10)
    assert {(n, act, on) for n, act, on in seen} == {
        ("reading", "prior-reader", True),
        ("reciting", "default", True),
    }
    assert model.active_adapter == "default"


def test_a_model_without_memory_reads_true_as_no_adapter() -> None:
    class Plain:
        pass

    turns = ModelTurns(Plain())
    assert turns.served is None
    with turns.hold(True):  # nothing to switch, nothing raised
        pass


def test_two_generations_interleave_step_by_step_in_arrival_order() -> None:
    turns = ModelTurns(FakePeft())
    steps: list[str] = []
    first_holds = threading.Event()

    def generate(name: str, n: int, adapter: bool) -> None:
        with turns.hold(adapter):
            first_holds.set()
            for _ in range(n):
                steps.append(name)
                time.sleep(0.01)
                turns.pass_turn(adapter)

    a = threading.Thread(target=generate, args=("a", 4, True))
    a.start()
    first_holds.wait(5)
    b = threading.Thread(target=generate, args=("b", 3, False))
    b.start()
    a.join(10)
    b.join(10)
    assert sorted(steps) == ["a"] * 4 + ["b"] * 3
    # once b waits, neither runs two steps in a row while the other still has steps to do
    start = steps.index("b")
    tail = steps[start - 1 :]
    runs = [x for i, x in enumerate(tail) if i == 0 or x != tail[i - 1]]
    assert len(runs) >= 5, steps


def test_a_holder_alone_never_releases_between_steps() -> None:
    turns = ModelTurns(FakePeft())
    with turns.hold():
        for _ in range(3):
            turns.pass_turn()
            assert turns.waiting == 0
