"""Self-contained model folders: what `etl train` writes and the pipeline loads.

    <folder>/
      encoder_config.json   encoder shape (Google/bert4keras config keys)
      vocab.txt             the vocabulary the model was trained with
      weights.h5            all weights (encoder + head), Keras HDF5
      labels.json           label list / task metadata (model-specific)
      settings.json         training settings, for reproduction
      metrics.json          dev figures measured at the end of training
      version.txt           "<kind>-<sha256 of weights.h5 [+ lexicon.tsv], 12 hex>": provenance of every triple
      bigrams.txt           relation model with the lexical branch: its bigram features
      lexicon.tsv           span model with the lexicon input: entity strings and their types

The version string changes whenever the weights (or the span lexicon, which changes what the model
sees) change, so triples in the graph always say which
model produced them, and a new model makes the nightly run re-extract documents (ledger key).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from etl.errors import ConfigError

REQUIRED = ("encoder_config.json", "vocab.txt", "weights.h5", "labels.json", "version.txt")


VERSIONED_EXTRAS = ("lexicon.tsv",)  # inputs that change the model's output, hashed after the weights


def folder_version(kind: str, folder: str | Path) -> str:
    """`<kind>-<12 hex>`: sha256 of weights.h5, then of the VERSIONED_EXTRAS the folder holds."""
    digest = hashlib.sha256()
    extras = [Path(folder) / name for name in VERSIONED_EXTRAS]
    for path in [Path(folder) / "weights.h5"] + [p for p in extras if p.is_file()]:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return f"{kind}-{digest.hexdigest()[:12]}"


def write_json(path: str | Path, value) -> None:
    Path(path).write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def read_json(path: str | Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def check_folder(folder: str | Path, kind: str) -> Path:
    """Clear error naming what is missing, before TensorFlow is even loaded."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{kind} model folder not found: {folder} (train one with `etl train {kind}`)")
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"{kind} model folder {folder} is incomplete: missing {', '.join(missing)}")
    return folder


def read_version(folder: str | Path) -> str:
    return (Path(folder) / "version.txt").read_text(encoding="utf-8").strip()


def replace_folder(staging: Path, out: Path) -> None:
    """Move a finished `staging` folder to `out`, so a reader never sees a half-written model."""
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
