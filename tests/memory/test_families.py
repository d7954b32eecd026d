"""Every supported decoder family sleeps and serves: LoRA targets, layers and chat format are read
from the model (a tiny random model of each family, the bundled tokenizer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleepd.memory.served import load_with_memory
from sleepd.memory.serving.generate import GenerationConfig, generate
from sleepd.memory.sleeping.pipeline import run_sleep
from sleepd.memory.versions import memory_of
from sleepd.models.architecture import decoder_of, lora_targets, n_layers
from sleepd.models.chat_format import PLAIN_STOPS, StopTrimmer, chat_text, has_template
from sleepd.models.model import load_model
from sleepd.storage import NewPassage, Store, open_engine
from tests.conftest import write_tiny_config
from tests.tiny_models import FAMILIES, build_tiny

NOTE = "Server kestrel-9 runs Alpine and listens on port 7001. Owner: Ines Valcourt."
SHORT = GenerationConfig(max_new_tokens=8)


@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {f: build_tiny(f, tiny_model_dir, root / f) for f in FAMILIES}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_sleeps_and_chat_serves_the_new_version(
    family: str, family_dirs: dict[str, Path], sleepd_home: Path
) -> None:
    config = write_tiny_config(sleepd_home, family_dirs[family])
    lm = load_model(config)
    targets = lora_targets(lm.model)
    if family == "phi3":
        assert targets == ["down_proj", "gate_up_proj", "o_proj", "qkv_proj"]
    else:
        assert targets == ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
    assert n_layers(lm.model) == len(decoder_of(lm.model).layers) == 4

    store = Store(open_engine(config))
    sid = store.upsert_source("/notes/a.md")
    store.add_passages(sid, [NewPassage(NOTE, 20)])
    result = run_sleep(config, store)
    assert result.version == 1
    meta = memory_of(config).info(1).meta
    assert meta["layers"] == [2, 3]  # sleep.layer_share 0.5 of 4, read from the model

    served, version = load_with_memory(config)
    assert version == 1
    # chat uses the adapter: the same prompt's next-token logits move when it is switched off
    import torch

    prompt = chat_text(served.tokenizer, [{"role": "user", "content": "port?"}])
    enc = served.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    with torch.inference_mode():
        on = served.model(**enc).logits[0, -1]
        with served.model.disable_adapter():
            off = served.model(**enc).logits[0, -1]
    assert not torch.allclose(on, off)
    assert isinstance(generate(served, [{"role": "user", "content": "Which port?"}], SHORT), str)


def test_a_model_without_chat_template_gets_the_plain_format(tiny_model_dir: Path, sleepd_home: Path) -> None:
    plain_dir = build_tiny("gemma3", tiny_model_dir, sleepd_home.parent / "gemma3-base", chat_template=False)
    config = write_tiny_config(sleepd_home, plain_dir)
    lm = load_model(config)
    assert not has_template(lm.tokenizer)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And of Spain?"},
    ]
    text = chat_text(lm.tokenizer, messages)
    want = "Be brief.\n\nQuestion: Capital of France?\nAnswer: Paris.\n\nQuestion: And of Spain?\nAnswer:"
    assert text.endswith(want)
    assert isinstance(generate(lm, messages, SHORT), str)  # no ValueError from apply_chat_template


def test_stop_trimmer_cuts_at_the_next_question_even_split_across_pieces() -> None:
    trim = StopTrimmer(PLAIN_STOPS)
    pieces = [" Madrid", ".", "\nQue", "stion: and", " more"]
    out = "".join(trim.feed(p) for p in pieces) + trim.flush()
    assert out == " Madrid." and trim.stopped
    trim = StopTrimmer(PLAIN_STOPS)
    out = "".join(trim.feed(p) for p in [" 3", "\n", "4 and 5"]) + trim.flush()
    assert out == " 3\n4 and 5" and not trim.stopped  # a single newline is answer text
    trim = StopTrimmer(())
    assert trim.feed("a\n\nb") == "a\n\nb"
