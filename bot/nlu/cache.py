"""The trained model kept on disk, so that a process starts without training nor importing
scikit-learn (seconds both, on a busy machine) when the examples and the code are unchanged.

A file is named by a SHA-256 of everything the model depends on: the examples (with a
provider's extra ones), the source of this package (the rules mask the examples before
training), and the versions of scikit-learn and numpy. A changed example or rule is another
name, so a stale model is never read; nothing is ever downloaded. The file holds arrays and
JSON only (``numpy.load(allow_pickle=False)``): reading one runs no code.

Where: ``$OZBOT_NLU_CACHE`` (``off`` to never read nor write one), else
``$XDG_CACHE_HOME/ozbot/nlu`` or ``~/.cache/ozbot/nlu``. A directory that cannot be written is
no error: the model is trained, as without a cache. Files are written to a temporary name and
renamed, so processes starting together never read half a file; the :data:`KEPT` newest stay.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Sequence
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from bot.nlu.data import Example
from bot.nlu.model import Model, _Features, _Linear

__all__ = ["FORMAT", "KEPT", "directory", "key", "load", "save"]

log = logging.getLogger(__name__)

#: bumped when the file's layout changes
FORMAT = "ozbot-nlu-2"
#: how many models a cache directory keeps (about 10 MB each)
KEPT = 8


def directory() -> Path | None:
    """Where models are kept, or None when the cache is off."""
    configured = os.environ.get("OZBOT_NLU_CACHE")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "no") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ozbot" / "nlu"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def key(examples: Sequence[Example]) -> str:
    """The name of the model trained on ``examples`` by this code."""
    digest = hashlib.sha256(FORMAT.encode())
    for package in ("scikit-learn", "numpy"):
        digest.update(f"\0{package}={_version(package)}".encode())
    for entry in sorted(resources.files("bot.nlu").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            digest.update(b"\0" + entry.name.encode() + b"\0" + entry.read_bytes())
    for e in examples:
        digest.update(f"\0{e.intent}\x1f{e.language}\x1f{e.text}".encode())
    return digest.hexdigest()[:32]


def _path(name: str) -> Path | None:
    folder = directory()
    return None if folder is None else folder / f"{name}.npz"


def load(name: str) -> Model | None:
    """The model kept under ``name``, or None (no cache, no such file, a damaged one)."""
    path = _path(name)
    if path is None:
        return None
    try:
        if not path.is_file():  # may raise too: a home this user cannot read
            return None
        with np.load(path, allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]))
            features = tuple(
                _Features(
                    block["kind"],
                    block["low"],
                    block["high"],
                    {term: i for i, term in enumerate(block["terms"])},
                    np.asarray(arrays[f"idf{n}"], dtype=np.float64),
                    block["offset"],
                )
                for n, block in enumerate(meta["features"])
            )
            linear = {
                part: _Linear(
                    tuple(meta[part]),
                    np.ascontiguousarray(arrays[f"{part}_weights"], dtype=np.float64),
                    np.asarray(arrays[f"{part}_bias"], dtype=np.float64),
                )
                for part in ("intent", "language")
            }
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        log.warning("nlu cache: cannot read %s (%s); training instead", path.name, exc)
        return None
    return Model(
        features,
        linear["intent"],
        linear["language"],
        0.0,
        int(meta["size"]),
        frozenset(meta["common_words"]),
        cached=True,
        sharpness=float(meta["sharpness"]),
    )


def save(name: str, model: Model) -> Path | None:
    """Keep ``model`` under ``name``; the path written, or None (no cache, not writable)."""
    path = _path(name)
    if path is None:
        return None
    meta = {
        "format": FORMAT,
        "size": model.size,
        "sharpness": model.sharpness,
        "common_words": sorted(model.common_words),
        "intent": list(model.intent.labels),
        "language": list(model.language.labels),
        "features": [
            {
                "kind": f.kind,
                "low": f.low,
                "high": f.high,
                "offset": f.offset,
                "terms": sorted(f.vocabulary, key=f.vocabulary.__getitem__),
            }
            for f in model.features
        ],
    }
    arrays: dict[str, Any] = {f"idf{n}": f.idf for n, f in enumerate(model.features)}
    for part, linear in (("intent", model.intent), ("language", model.language)):
        arrays[f"{part}_weights"] = linear.weights
        arrays[f"{part}_bias"] = linear.bias
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError as exc:
        log.info("nlu cache: cannot write in %s (%s)", path.parent, exc)
        return None
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(temporary, path)
    except OSError as exc:
        log.info("nlu cache: cannot write %s (%s)", path, exc)
        Path(temporary).unlink(missing_ok=True)
        return None
    _prune(path.parent)
    return path


def _prune(folder: Path) -> None:
    """Keep the :data:`KEPT` newest models: each edit of the examples makes a new one."""
    try:
        models = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in models[KEPT:]:
            old.unlink(missing_ok=True)
    except OSError as exc:  # another process pruning too
        log.debug("nlu cache: pruning %s: %s", folder, exc)
