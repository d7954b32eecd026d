"""Memory versions on disk: retention with pins, and fp16 adapters that answer as fp32 ones do."""

from __future__ import annotations

from pathlib import Path

from sleepd.memory.sleeping.pipeline import run_sleep
from sleepd.memory.versions import memory_of
from sleepd.storage import Config, NewPassage, Store


def test_ten_sleeps_keep_current_five_previous_and_pinned(tiny_config: Config, tiny_store: Store) -> None:
    assert tiny_config.sleep.keep_versions == 5  # the default this test is about
    versions = memory_of(tiny_config)
    for i in range(10):
        sid = tiny_store.upsert_source(f"/notes/{i}.md")
        text = f"Locker {i} at the Wren Street pool holds a {['red', 'blue'][i % 2]} towel."
        tiny_store.add_passages(sid, [NewPassage(text, len(text.split()))])
        assert run_sleep(tiny_config, tiny_store).version == i + 1
        if i == 1:
            versions.pin(2)
    on_disk = sorted(int(p.name) for p in versions.versions.iterdir() if p.name.isdigit())
    assert len(on_disk) <= 7
    assert on_disk == [2, 5, 6, 7, 8, 9, 10]  # pinned 2, the five before the current, current 10
    assert versions.current() == 10
    assert not any(p.name.startswith(".tmp-") for p in versions.versions.iterdir())

    versions.pin(2, pinned=False)
    assert versions.prune(5) == [2]
    versions.set_current(6)  # a rollback: the current one is kept even when it is old
    assert versions.prune(1) == [5, 7, 8, 9]
    assert versions.ids() == [6, 10]


def test_fp16_adapter_answers_like_the_fp32_one(tiny_config: Config, tmp_path: Path) -> None:
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from safetensors.torch import load_file

    from sleepd.memory.serving.generate import GenerationConfig, generate
    from sleepd.models.adapters import save_adapter
    from sleepd.models.model import LoadedModel, load_model

    torch.manual_seed(0)
    lm = load_model(tiny_config)
    adapted = get_peft_model(
        lm.model, LoraConfig(r=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    )
    adapted.save_pretrained(str(tmp_path / "fp32"))
    save_adapter(adapted, tmp_path / "fp16")
    stored = load_file(str(tmp_path / "fp16" / "adapter_model.safetensors"))
    assert stored and {t.dtype for t in stored.values()} == {torch.float16}
    full = (tmp_path / "fp32" / "adapter_model.safetensors").stat().st_size
    assert (tmp_path / "fp16" / "adapter_model.safetensors").stat().st_size < 0.55 * full

    msgs = [{"role": "user", "content": "Where is the spare key?"}]
    gen = GenerationConfig(max_new_tokens=30, temperature=0.0, repetition_penalty=1.0)
    ids = lm.tokenizer("Where is the spare key kept?", return_tensors="pt")["input_ids"]  # [1, T]
    answers, logits = [], []
    for name in ("fp32", "fp16"):
        model = PeftModel.from_pretrained(load_model(tiny_config).model, str(tmp_path / name)).eval()
        answers.append(generate(LoadedModel(model, lm.tokenizer, lm.source), msgs, gen))
        with torch.inference_mode():
            logits.append(model(ids).logits.float())  # [1, T, V]
        assert {p.dtype for n, p in model.named_parameters() if "lora_" in n} == {torch.float32}
    assert answers[0] == answers[1]
    assert (logits[0] - logits[1]).abs().max() < 1e-2
