"""The consolidation prior: what a base model was trained on once, offline, so that sleep works well.

A prior is a folder with ``prior.json`` (what it was trained on, the data's licence, the base model's
file hash) and its parts; today one part, the question writer (``questions``), a LoRA adapter that
sleep loads on a copy of the base model to write the questions people would ask of each fact.

Where sleep looks (``sleep.prior = "auto"``): a prior the user trained for the configured model
(``<data_dir>/priors/<model>``, written by ``python -m sleepd.tools.prior_train``), then the one
shipped in the package for the bundled model (``memory/priors/<model>``). ``"none"`` switches it
off; a path names a prior folder. A prior whose recorded base hash differs from the model's is not
used (one warning): an adapter trained on other weights writes noise.

This module reads files only (no torch), so ``sleepd status`` can say which prior is in use.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleepd.models.identity import base_fingerprint, model_slug
from sleepd.models.model import ModelNotFoundError, ModelSource, resolve_model_source
from sleepd.storage.config import Config

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).parent / "priors"
RECORD = "prior.json"
WRITER_PART = "question-writer"
READER_PART = "reader"  # notes and a question -> a short answer in the notes' words (tools/reader_train.py)


@dataclass(frozen=True)
class Prior:
    path: Path
    record: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.record.get("name", self.path.name))

    @property
    def writer_dir(self) -> Path | None:
        d = self.path / WRITER_PART
        return d if (d / "adapter_config.json").is_file() else None

    @property
    def reader_dir(self) -> Path | None:
        d = self.path / READER_PART
        return d if (d / "adapter_config.json").is_file() else None

    @property
    def writer_id(self) -> str:
        """Names the writer in caches: a retrained writer writes its questions anew."""
        return f"{self.name}:{self.record.get('trained_at', '')}"

    def describe(self) -> str:
        where = "shipped" if SHIPPED in self.path.parents else str(self.path)
        reader = " + reader" if self.reader_dir is not None else ""
        return f"{self.name}{reader} ({where}; trained on {self.record.get('data', {}).get('summary', '?')})"


def read_prior(path: Path) -> Prior | None:
    try:
        record = json.loads((path / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return Prior(path, record) if isinstance(record, dict) else None


def candidates(config: Config, model_name: str) -> list[Path]:
    setting = config.sleep.prior
    if setting == "none":
        return []
    if setting != "auto":
        return [Path(setting).expanduser()]
    slug = model_slug(model_name)
    return [config.paths.data_dir / "priors" / slug, SHIPPED / slug]


def find_prior(config: Config, model_name: str, fingerprint: str | None) -> Prior | None:
    """The prior sleep uses for this model, or None (a model without one runs as before)."""
    for path in candidates(config, model_name):
        prior = read_prior(path)
        if prior is None:
            if config.sleep.prior not in ("auto", "none"):
                log.warning("sleep.prior %s holds no %s; sleeping without a prior", path, RECORD)
            continue
        recorded = prior.record.get("base_sha256")
        if recorded and fingerprint and recorded != fingerprint:
            log.warning("prior %s was trained on other weights of %s; not used", path, model_name)
            continue
        return prior
    return None


def prior_for_source(config: Config, source: ModelSource) -> Prior | None:
    """``find_prior`` for a ``model.ModelSource`` (hashing its weights file once per process)."""
    return find_prior(config, source.name, base_fingerprint(source.path, source.gguf_file))


def prior_status(config: Config) -> str:
    """One line for `sleepd status`: the prior sleep would use, without loading the model."""
    try:
        source = resolve_model_source(config)
    except ModelNotFoundError:
        return "none (no model)"
    prior = prior_for_source(config, source)
    if prior is None:
        return "none" if config.sleep.prior == "none" else f"none for {source.name}"
    return prior.describe()
