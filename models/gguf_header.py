"""The header of a GGUF file, read without torch and without reading the weights.

``sleepd models`` lists every model on the machine; the ``gguf`` package's reader also maps each
tokenizer array into numpy (seconds for a large vocabulary), so this reads only
what a listing needs: architecture, name, quantisation, parameter count, whether a chat template is
stored. Layout (GGUF v2/v3, little-endian): magic, version, tensor count, key-value count, the
key-values, then one record per tensor (name, dims, type, offset).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"GGUF"
# value type -> struct format of a scalar (8 = string, 9 = array are read apart)
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
# general.file_type (llama.cpp's LlamaFileType) -> the name people see in file names
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M",
    30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
}  # fmt: skip


class NotGGUF(ValueError):
    """The file is not a GGUF file, or its header is cut short."""


@dataclass(frozen=True)
class GGUFInfo:
    architecture: str  # "llama", "qwen2", "gemma3", ...
    name: str  # general.name, or ""
    quantisation: str  # "Q4_K_M", "F16", ... or "unknown"
    params: int  # elements over all tensors
    has_chat_template: bool


class _Cursor:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> int | float | bool:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.buf):
            raise NotGGUF("header cut short")
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        n = int(self.take("Q"))
        raw = self.buf[self.pos : self.pos + n]
        if len(raw) != n:
            raise NotGGUF("header cut short")
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def value(self, kind: int, keep: bool) -> object:
        if kind == 8:
            return self.string()
        if kind == 9:
            item, count = int(self.take("I")), int(self.take("Q"))
            if item in _SCALARS and not keep:  # skip a numeric array in one step
                self.pos += struct.calcsize("<" + _SCALARS[item]) * count
                return None
            values = [self.value(item, keep) for _ in range(count)]
            return values if keep else None
        if kind not in _SCALARS:
            raise NotGGUF(f"unknown value type {kind}")
        return self.take(_SCALARS[kind])


def is_gguf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == MAGIC
    except OSError:
        return False


def read_gguf_header(path: Path) -> GGUFInfo:
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        if buf[:4] != MAGIC:
            raise NotGGUF(f"{path.name} is not a GGUF file")
        cur = _Cursor(buf)
        cur.pos = 4
        if int(cur.take("I")) < 2:
            raise NotGGUF(f"{path.name}: GGUF v1 is not supported")
        n_tensors, n_kv = int(cur.take("Q")), int(cur.take("Q"))
        wanted = {"general.architecture", "general.name", "general.file_type"}
        kv: dict[str, object] = {}
        template = False
        for _ in range(n_kv):
            key = cur.string()
            value = cur.value(int(cur.take("I")), keep=key in wanted)
            if key in wanted:
                kv[key] = value
            template = template or key == "tokenizer.chat_template"
        params = 0
        for _ in range(n_tensors):
            cur.string()
            dims = [int(cur.take("Q")) for _ in range(int(cur.take("I")))]
            cur.take("I")  # tensor type
            cur.take("Q")  # offset
            count = 1
            for d in dims:
                count *= d
            params += count
    file_type = kv.get("general.file_type")
    return GGUFInfo(
        architecture=str(kv.get("general.architecture", "unknown")),
        name=str(kv.get("general.name", "")),
        quantisation=FILE_TYPES.get(int(file_type), "unknown") if isinstance(file_type, int) else "unknown",
        params=params,
        has_chat_template=template,
    )
