"""The models already on this machine: the bundled one, Ollama's store, LM Studio's folder, the
Hugging Face cache and loose files in configured folders. No torch: ``sleepd models`` is a client.

Where each keeps them:
- Ollama: ``$OLLAMA_MODELS`` or ``~/.ollama/models``: ``manifests/<host>/<namespace>/<model>/<tag>``
  is JSON whose layer of media type ``application/vnd.ollama.image.model`` names the GGUF blob
  ``blobs/sha256-<hex>`` (a file without a .gguf suffix);
- LM Studio: ``~/.lmstudio/models/<publisher>/<repo>/*.gguf`` (older: ``~/.cache/lm-studio/models``);
- Hugging Face: ``$HF_HUB_CACHE``, ``$HF_HOME/hub`` or ``~/.cache/huggingface/hub``:
  ``models--<org>--<name>/snapshots/<revision>/`` with config.json + safetensors, or GGUF files;
- ``model.search_paths``: folders holding .gguf files or model folders (one level down).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .architecture import TESTED_FAMILIES
from .gguf_header import NotGGUF, is_gguf, read_gguf_header

OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
OLLAMA_HOST = "registry.ollama.ai"
# GGUF architecture names -> transformers' model_type, where they differ
GGUF_FAMILIES = {"gemma3": "gemma3_text"}
MAX_HEADER = 100_000_000  # safetensors' own limit on its JSON header


@dataclass(frozen=True)
class FoundModel:
    name: str  # what `sleepd model use` takes
    where: str  # bundled | ollama | lmstudio | hf-cache | path
    path: Path  # a model folder (config.json + safetensors) or a GGUF file
    family: str  # transformers' model_type ("llama", "qwen2", ...) or "unknown"
    params: int | None
    quantisation: str  # GGUF type ("Q4_K_M"), or the folder's dtype ("bfloat16")
    chat_template: bool
    problem: str = ""  # why sleepd cannot train or serve it; "" = it can

    @property
    def trainable(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class ModelRoots:
    ollama: Path
    lmstudio: tuple[Path, ...]
    hf_hub: Path
    search_paths: tuple[Path, ...] = ()

    @classmethod
    def from_env(cls, search_paths: tuple[str, ...] = (), env: Mapping[str, str] | None = None) -> ModelRoots:
        env = os.environ if env is None else env
        home = Path(env.get("HOME") or Path.home())
        hf_home = Path(env["HF_HOME"]) if env.get("HF_HOME") else home / ".cache" / "huggingface"
        return cls(
            ollama=Path(env["OLLAMA_MODELS"]) if env.get("OLLAMA_MODELS") else home / ".ollama" / "models",
            lmstudio=(home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"),
            hf_hub=Path(env["HF_HUB_CACHE"]) if env.get("HF_HUB_CACHE") else hf_home / "hub",
            search_paths=tuple(Path(p).expanduser() for p in search_paths),
        )


def _problem(family: str) -> str:
    if family == "unknown":
        return "not a model sleepd can read (no architecture stated)"
    if family not in TESTED_FAMILIES:
        return f"family {family!r} is not one sleepd supports ({', '.join(TESTED_FAMILIES)})"
    return ""


def describe_gguf(path: Path, name: str, where: str) -> FoundModel | None:
    try:
        info = read_gguf_header(path)
    except (OSError, NotGGUF):
        return None
    family = GGUF_FAMILIES.get(info.architecture, info.architecture)
    if info.architecture in ("clip", "mmproj"):  # a vision projector shipped beside a model
        return None
    return FoundModel(name, where, path, family, info.params, info.quantisation, info.has_chat_template,
                      _problem(family))  # fmt: skip


def _safetensors_params(folder: Path) -> int | None:
    """Elements over every tensor, from each file's JSON header (8-byte length, then JSON)."""
    total, files = 0, sorted(folder.glob("*.safetensors"))
    for f in files:
        try:
            with open(f, "rb") as fh:
                (n,) = struct.unpack("<Q", fh.read(8))
                if n > min(MAX_HEADER, f.stat().st_size):  # not a safetensors file
                    return None
                header = json.loads(fh.read(n))
        except (OSError, ValueError, struct.error):
            return None
        if not isinstance(header, dict):
            return None
        for key, t in header.items():
            if key != "__metadata__":
                count = 1
                for d in t["shape"]:
                    count *= d
                total += count
    return total if files else None


def describe_folder(folder: Path, name: str, where: str) -> FoundModel | None:
    """A transformers model folder (config.json and safetensors weights)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not any(folder.glob("*.safetensors")):
        return None
    text = config.get("text_config") or {}
    family = str(text.get("model_type") or config.get("model_type") or "unknown")
    dtype = str(config.get("dtype") or config.get("torch_dtype") or text.get("dtype") or "unknown")
    template = (folder / "chat_template.jinja").is_file() or _config_has_template(folder)
    params = _safetensors_params(folder)
    return FoundModel(name, where, folder, family, params, dtype, template, _problem(family))


def _config_has_template(folder: Path) -> bool:
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        return bool(config.get("chat_template"))
    except (OSError, ValueError):
        return False


def describe_path(path: Path) -> FoundModel | None:
    """A path given to `model use`: a GGUF file (any name: Ollama's blobs have none) or a folder."""
    path = path.expanduser().resolve()
    if path.is_file() and is_gguf(path):
        return describe_gguf(path, str(path), "path")
    if path.is_dir():
        return describe_folder(path, str(path), "path")
    return None


def ollama_models(root: Path) -> Iterator[FoundModel]:
    manifests = root / "manifests"
    if not manifests.is_dir():
        return
    for manifest in sorted(p for p in manifests.rglob("*") if p.is_file()):
        try:
            host, namespace, model, tag = manifest.relative_to(manifests).parts
            layers = json.loads(manifest.read_text(encoding="utf-8")).get("layers", [])
        except (ValueError, OSError):
            continue
        weights = [la.get("digest", "") for la in layers if la.get("mediaType") == OLLAMA_MODEL_LAYER]
        digest = weights[0] if weights else ""
        blob = root / "blobs" / digest.replace(":", "-")
        short = f"{model}:{tag}"  # what `ollama run` takes
        if (host, namespace) != (OLLAMA_HOST, "library"):
            short = f"{host}/{namespace}/{short}"
        if digest and blob.is_file() and (found := describe_gguf(blob, f"ollama:{short}", "ollama")):
            yield found


def lmstudio_models(roots: tuple[Path, ...]) -> Iterator[FoundModel]:
    for root in roots:
        if root.is_dir():
            for f in sorted(root.rglob("*.gguf")):
                rel = f.relative_to(root).as_posix()
                if (found := describe_gguf(f, f"lmstudio:{rel}", "lmstudio")) is not None:
                    yield found


def hf_cache_models(hub: Path) -> Iterator[FoundModel]:
    if not hub.is_dir():
        return
    for repo in sorted(hub.glob("models--*")):
        repo_id = repo.name.removeprefix("models--").replace("--", "/")
        snapshots = sorted((repo / "snapshots").glob("*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for snap in snapshots[:1]:  # the newest revision
            if (found := describe_folder(snap, f"hf:{repo_id}", "hf-cache")) is not None:
                yield found
            for f in sorted(snap.glob("*.gguf")):
                if (found := describe_gguf(f, f"hf:{repo_id}/{f.name}", "hf-cache")) is not None:
                    yield found


def loose_models(folders: tuple[Path, ...]) -> Iterator[FoundModel]:
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            found = describe_path(entry) if entry.is_dir() or entry.suffix == ".gguf" else None
            if found is not None:
                yield found


def find_models(roots: ModelRoots, bundled: Path | None) -> list[FoundModel]:
    """Every model found, the bundled one first; the same file found twice is listed once."""
    found: list[FoundModel] = []
    if bundled is not None and (b := describe_gguf(bundled, "bundled", "bundled")) is not None:
        found.append(b)
    for source in (
        ollama_models(roots.ollama),
        lmstudio_models(roots.lmstudio),
        hf_cache_models(roots.hf_hub),
        loose_models(roots.search_paths),
    ):
        found.extend(source)
    seen: set[Path] = set()
    unique = []
    for m in found:
        key = m.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(m)
    return unique


def find_by_name(models: list[FoundModel], name: str) -> FoundModel | None:
    """``name`` as listed (``ollama:qwen2.5:0.5b``), or without its store prefix when that is unique."""
    exact = [m for m in models if m.name == name]
    if exact:
        return exact[0]
    loose = [m for m in models if m.name.split(":", 1)[-1] == name]
    return loose[0] if len(loose) == 1 else None
