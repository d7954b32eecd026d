"""Paths and configuration.

Configuration is TOML in the user config dir (``config.toml``), read into one frozen dataclass per
subsystem and passed explicitly; nothing here is global. ``SLEEPD_HOME=/some/dir`` puts config, data,
state and the runtime dir (socket) under that one directory, which is what tests and benchmarks use.

Every field has a default, so sleepd works with no file at all.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SleepdError

APP_NAME = "sleepd"
HOME_ENV = "SLEEPD_HOME"
log = logging.getLogger(__name__)


class ConfigError(SleepdError, ValueError):
    """The config file is malformed or names an unknown setting."""


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    state_dir: Path
    runtime_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def socket_path(self) -> Path:
        return self.runtime_dir / "sleepd.sock"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Paths:
        env = os.environ if environ is None else environ
        home = env.get(HOME_ENV)
        if home:
            root = Path(home).expanduser().resolve()
            return cls(root / "config", root / "data", root / "state", root / "run")
        import warnings

        import platformdirs  # imported here: only needed without SLEEPD_HOME

        with warnings.catch_warnings():  # no XDG_RUNTIME_DIR: platformdirs warns, then uses /tmp
            warnings.simplefilter("ignore")
            runtime = Path(platformdirs.user_runtime_dir(APP_NAME))
        return cls(
            Path(platformdirs.user_config_dir(APP_NAME)),
            Path(platformdirs.user_data_dir(APP_NAME)),
            Path(platformdirs.user_state_dir(APP_NAME)),
            runtime,
        )

    def ensure(self) -> None:
        """Create every directory private to the user (0700)."""
        for d in (self.config_dir, self.data_dir, self.state_dir, self.runtime_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(d, 0o700)


DTYPES = ("auto", "bf16", "fp32")
DEVICES = ("auto", "cpu", "cuda")


def _check_at_least(section: str, cfg: Any, minimums: dict[str, tuple[float, str]]) -> None:
    """Each ``key: (minimum, what the minimum means)`` of ``cfg`` at or above its minimum."""
    for key, (minimum, meaning) in minimums.items():
        value = getattr(cfg, key)
        if value < minimum:
            raise ConfigError(f"{section}.{key} must be {minimum:g}{meaning} or more, got {value}")


def _check_dtype(key: str, value: str) -> None:
    if value not in DTYPES:
        raise ConfigError(f"{key} must be one of {', '.join(DTYPES)}, got {value!r}")


@dataclass(frozen=True)
class StorageConfig:
    db_name: str = "sleepd.db"  # the SQLite buffer, under the data dir
    busy_timeout_ms: int = 10_000  # how long a write waits for another process's lock


@dataclass(frozen=True)
class ModelConfig:
    # A Hugging Face id or a local directory; empty means the bundled SmolLM2-135M-Instruct.
    name_or_path: str = ""
    # Where converted copies of the bundled GGUF are cached; empty means <data_dir>/models.
    cache_dir: str = ""
    max_new_tokens: int = 256  # the longest answer; a longer one ends with a "length" finish
    temperature: float = 0.0  # 0 = greedy: small models answer facts best without sampling
    repetition_penalty: float = 1.1  # for free chat; copying a note (recall) decodes without it
    system_prompt: str = ""  # the default system prompt of every chat ("" = none)
    # The longest prompt one chat may send (daemon/prompt_limits.py): the message and system
    # prompt get half of it, history and the buffer's notes the rest.
    max_prompt_tokens: int = 2048
    dtype: str = "auto"  # serving's number format: "auto", "bf16" or "fp32", chosen like sleep.dtype
    # Where the model runs, for chat and sleep alike: "auto" = CUDA when torch sees a GPU, else CPU.
    device: str = "auto"
    # Folders `sleepd models` also looks in for .gguf files and model folders (besides the bundled
    # model, Ollama, LM Studio and the Hugging Face cache).
    search_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_dtype("model.dtype", self.dtype)
        if self.device not in DEVICES:
            raise ConfigError(f"model.device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.max_prompt_tokens < 64:
            raise ConfigError(f"model.max_prompt_tokens must be at least 64, got {self.max_prompt_tokens}")


@dataclass(frozen=True)
class WatchConfig:
    debounce_s: float = 1.0  # a file is read once it has been quiet this long (editors save in bursts)
    max_file_bytes: int = 20 * 1024 * 1024  # larger files are skipped, with the reason in `sleepd sources`
    max_passage_tokens: int = 400  # notes are cut into passages of at most this many tokens
    # gitignore patterns (see ingest/pathfilter.py); a watched folder's own .gitignore applies too
    default_excludes: tuple[str, ...] = (
        ".*",  # .git/, .obsidian/, editor swap files (.x.swp)
        "node_modules/",
        "__pycache__/",
        "*~",
        "*.swp",
        "*.swx",
        "*.tmp",
        "\\#*#",  # emacs autosaves; "#" alone would start a comment
    )


@dataclass(frozen=True)
class SleepConfig:
    cron: str = "0 3 * * *"  # when the nightly sleep starts (crontab syntax)
    # Also sleep after this many minutes without chat, once min_pending_passages are waiting.
    idle_minutes: int = 30
    min_pending_passages: int = 20  # new passages an idle sleep waits for
    lora_rank: int = 32  # rank of the memory's LoRA adapter
    # High for LoRA: a sleep has a few epochs to memorise its facts (docs/decisions.md).
    learning_rate: float = 3e-3
    epochs: int = 6  # passes over a sleep's training data
    # Batches shrink until an epoch has this many optimizer steps: a sleep of two notes still
    # gets enough updates to learn them.
    min_steps_per_epoch: int = 8
    # Layers trained, as a share of the model's depth; 1.0 = all layers.
    layer_share: float = 0.5
    # "last": the top of the stack (backward stops early and the frozen layers' output is cached);
    # "fisher": the layers whose Fisher score on this sleep's data is highest relative to general text.
    layer_choice: str = "last"
    fisher_examples: int = 16  # examples the layer scores are computed on
    keyword_queries: int = 2  # rule-made queries per fact: runs of its content words
    cloze_queries: int = 2  # ... and cloze questions ("The staging cluster is called what?")
    # Earlier passages replayed per new passage, at least replay_min (a forget sleep has no new
    # ones): an old passage left out of a sleep's sample is overwritten by it.
    replay_ratio: float = 1.0
    replay_min: int = 16  # at least this many earlier passages are replayed
    # Dreaming: the base model's own answers rehearsed per passage trained (at most 16), so
    # general chat stays as it was.
    general_ratio: float = 0.2
    gate_min_recall: float = 0.0  # reject a version whose recall probe is below this
    gate_min_replay_kept: float = 0.5  # reject if the replay probe falls below this share of before
    # Reject a version that loses more of the base model's right general answers than this allows.
    gate_min_general_kept: float = 0.9
    # Training's number format: "auto" = bf16 only where the CPU runs it natively (or CUDA) and a
    # probe timed it faster, else fp32; "bf16" / "fp32" force one.
    dtype: str = "auto"
    keep_versions: int = 5  # memory versions kept besides the current one and pinned ones
    # A sleep's time budget in minutes: new passages that do not fit wait for the next sleep
    # (answered from the buffer meanwhile); 0 = no budget. 6 h is a night.
    max_minutes: float = 360.0
    # The consolidation prior: "auto" = one trained for this model (under the data dir, or
    # shipped for the bundled model), "none", or the path of a prior folder.
    prior: str = "auto"
    # Questions the prior's writer writes per fact; they replace rule-made queries, so a fact
    # costs the same to train.
    written_queries: int = 2

    def __post_init__(self) -> None:
        if self.layer_choice not in ("fisher", "last"):
            raise ConfigError(f"sleep.layer_choice must be 'fisher' or 'last', got {self.layer_choice!r}")
        if not 0.0 < self.layer_share <= 1.0:
            raise ConfigError(f"sleep.layer_share must be in (0, 1], got {self.layer_share}")
        _check_dtype("sleep.dtype", self.dtype)
        _check_at_least(
            "sleep",
            self,
            {"keep_versions": (0, ""), "min_steps_per_epoch": (1, ""), "max_minutes": (0, " (no budget)")},
        )

    def layers_of(self, n_layers: int) -> int:
        """How many of a model's ``n_layers`` a sleep trains."""
        return max(1, min(n_layers, round(self.layer_share * n_layers)))


NOTE_TOKENS = 128  # the notes chat reads per answer; see RecallConfig.note_tokens


@dataclass(frozen=True)
class RecallConfig:
    """What default chat reads beside the weights — the one rule chat, the API and eval all use."""

    # Buffer passages put in the prompt (unless closed-book): the best BM25 hits, at most this
    # many. A small model reads one right note well and two notes badly.
    buffer_notes: int = 2
    # ... each scoring at least this share of the best one's, so a weak second match stays out.
    buffer_score_floor: float = 0.5
    # Without a question writer, a recitation from the weights is read only if it holds this share
    # of the question's content words: asked about something it never read, the memory still
    # recites some note, confidently, but one that holds few of the question's words.
    min_coverage: float = 2 / 3
    # Tokens of notes read per answer (0: whole notes); past it, the sentences that share most of
    # the question's words. The prompt's prefill is the first-token latency, so this bounds it.
    note_tokens: int = NOTE_TOKENS
    # Recitations decoded per query (beam search) where the prior's question writer is present;
    # the writer picks which one is read. 1: the greedy recitation and min_coverage alone.
    recite_beams: int = 4

    def __post_init__(self) -> None:
        _check_at_least(
            "recall", self, {"recite_beams": (1, ""), "buffer_notes": (0, ""), "note_tokens": (0, "")}
        )
        for key in ("buffer_score_floor", "min_coverage"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"recall.{key} must be in [0, 1], got {getattr(self, key)}")


@dataclass(frozen=True)
class DaemonConfig:
    tcp_port: int = 0  # 0 = no TCP listener, only the unix socket; else it needs `sleepd token`
    tcp_host: str = "127.0.0.1"  # where the TCP listener binds (every request needs the bearer token)
    # What you tell it in chat (not what you ask) becomes a note for the next sleep.
    chat_into_memory: bool = True


@dataclass(frozen=True)
class Config:
    paths: Paths
    storage: StorageConfig = field(default_factory=StorageConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    sleep: SleepConfig = field(default_factory=SleepConfig)
    recall: RecallConfig = field(default_factory=RecallConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)

    @property
    def db_path(self) -> Path:
        return self.paths.data_dir / self.storage.db_name

    @property
    def model_cache_dir(self) -> Path:
        return Path(self.model.cache_dir) if self.model.cache_dir else self.paths.data_dir / "models"


# Settings of experiments that lost and were removed: an old config.toml that sets one still
# loads, with a warning naming it.
RETIRED: dict[str, set[str]] = {
    "sleep": {"stop_recited", "stop_loss", "route_tokens", "unknown_ratio"},
    "recall": {"held_scores"},
}

_SECTIONS: dict[str, type] = {
    "storage": StorageConfig,
    "model": ModelConfig,
    "watch": WatchConfig,
    "sleep": SleepConfig,
    "recall": RecallConfig,
    "daemon": DaemonConfig,
}


def _build_section(name: str, cls: type, raw: Any) -> Any:
    """Validate one [section] against its dataclass with pydantic, strictly: a string is not a list
    (``default_excludes = "*.log"`` is an error, not five one-character patterns), ``true`` is not
    an integer, "0.5" is not a number; an integer is a float. Errors name the key, in one line."""
    import json

    from pydantic import TypeAdapter, ValidationError

    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table")
    if name == "sleep" and "bf16" in raw and "dtype" not in raw and isinstance(raw["bf16"], bool):
        # the setting before sleep.dtype: bf16 = true/false forced the format
        raw = {**{k: v for k, v in raw.items() if k != "bf16"}, "dtype": "bf16" if raw["bf16"] else "fp32"}
    for key in sorted(RETIRED.get(name, set()) & set(raw)):
        log.warning("config: %s.%s is no longer a setting and is ignored (docs/decisions.md)", name, key)
        raw = {k: v for k, v in raw.items() if k != key}
    known = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigError(f"unknown setting {name}.{key} (known: {', '.join(sorted(known))})")
    try:  # through JSON: TOML arrays are lists, and strict JSON mode takes an array for a tuple
        return TypeAdapter(cls).validate_json(json.dumps(raw, default=str), strict=True)
    except ValidationError as e:
        err = e.errors()[0]
        if not err["loc"]:  # raised by the dataclass's own checks (__post_init__)
            raise ConfigError(str(err["msg"]).removeprefix("Value error, ")) from None
        key = ".".join(str(part) for part in err["loc"])
        raise ConfigError(f"{name}.{key}: {err['msg']} (got {err.get('input')!r})") from None


def load_config(paths: Paths | None = None, text: str | None = None) -> Config:
    """Read config.toml (if any; or ``text`` in its place) over the defaults."""
    paths = paths or Paths.from_env()
    raw: dict[str, Any] = {}
    if text is not None or paths.config_file.exists():
        try:
            raw = tomllib.loads(text if text is not None else paths.config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{paths.config_file}: {e}") from e
    unknown = set(raw) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"unknown section(s) in {paths.config_file}: {', '.join(sorted(unknown))}")
    sections = {name: _build_section(name, cls, raw.get(name, {})) for name, cls in _SECTIONS.items()}
    return Config(paths=paths, **sections)


def set_setting(paths: Paths, section: str, key: str, value: str | None) -> Config:
    """Write ``[section] key = "value"`` into config.toml (``None`` removes the key), keeping every
    other line and comment as the user wrote them; the result must load, or the file is left as it
    was (ConfigError). Written to a temp file and renamed. Returns the new config."""
    import json
    import re

    path = paths.config_file
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    header = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]\s*(#.*)?$")
    entry = re.compile(rf"^\s*{re.escape(key)}\s*=")
    new = f"{key} = {json.dumps(value)}" if value is not None else None  # a JSON string is a TOML one
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        if new is not None:
            lines += ([""] if lines else []) + [f"[{section}]", new]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        at = next((i for i in range(start + 1, end) if entry.match(lines[i])), None)
        if at is not None and new is not None:
            lines[at] = new
        elif at is not None:
            del lines[at]
        elif new is not None:
            lines.insert(start + 1, new)
    text = "\n".join(lines) + "\n"
    config = load_config(paths, text=text)  # ConfigError: nothing written
    paths.ensure()
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return config
