"""A tiny random Llama written as a real GGUF file: the bundled GGUF's tokenizer and chat template,
two blocks of width 64, F32 tensors (about 13 MB, most of it the 49k-token embedding)."""

from __future__ import annotations

from pathlib import Path

WIDTH, FFN, HEADS, KV_HEADS, BLOCKS = 64, 128, 4, 2, 2


def write_tiny_gguf(bundled: Path, out: Path) -> Path:
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(bundled))
    writer = gguf.GGUFWriter(str(out), "llama")
    for key, field in reader.fields.items():
        if key.startswith(("GGUF.", "general.architecture", "llama.", "general.file_type")):
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub)
    vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    writer.add_block_count(BLOCKS)
    writer.add_context_length(2048)
    writer.add_embedding_length(WIDTH)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(WIDTH // HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    rng = np.random.default_rng(0)

    def rand(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    kv = WIDTH // HEADS * KV_HEADS
    writer.add_tensor("token_embd.weight", rand(vocab, WIDTH))
    writer.add_tensor("output_norm.weight", np.ones(WIDTH, dtype=np.float32))
    for b in range(BLOCKS):
        for name, t in {
            "attn_norm.weight": np.ones(WIDTH, dtype=np.float32),
            "attn_q.weight": rand(WIDTH, WIDTH),
            "attn_k.weight": rand(kv, WIDTH),
            "attn_v.weight": rand(kv, WIDTH),
            "attn_output.weight": rand(WIDTH, WIDTH),
            "ffn_norm.weight": np.ones(WIDTH, dtype=np.float32),
            "ffn_gate.weight": rand(FFN, WIDTH),
            "ffn_up.weight": rand(FFN, WIDTH),
            "ffn_down.weight": rand(WIDTH, FFN),
        }.items():
            writer.add_tensor(f"blk.{b}.{name}", t)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
