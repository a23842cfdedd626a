"""Self-contained model folders: what `etl train` writes and the pipeline loads.

    <folder>/
      encoder_config.json   encoder shape (Google/bert4keras config keys)
      vocab.txt             the vocabulary the model was trained with
      weights.h5            all weights (encoder + head), Keras HDF5
      labels.json           label list / task metadata (model-specific)
      settings.json         training settings, for reproduction
      metrics.json          dev figures measured at the end of training
      version.txt           "<kind>-<sha256 of weights.h5 [+ extras], 12 hex>": provenance of every triple
      bigrams.txt           relation model with the lexical branch: its bigram features
      lexicon.tsv           span model with the lexicon input: entity strings and their types
      context_rules.tsv     assertion model: the ConText rules it was trained and measured with

The version string changes whenever the weights, or an extra that changes what the model sees or
decides (the kind's versioned files: etl.models.registry), change, so triples in the graph always
say which model produced them, and a new model makes the nightly run re-extract documents (ledger
key). `save_weights_f16` stores weights as float16 (half the size); `round_to_f16` makes the
in-memory weights exactly what that storage gives back, so metrics measured before saving describe
the shipped weights.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from etl.errors import ConfigError, DataError
from etl.models.registry import versioned_files  # no TensorFlow: folder_version runs before it is set up

REQUIRED = ("encoder_config.json", "vocab.txt", "weights.h5", "labels.json", "version.txt")


def folder_version(kind: str, folder: str | Path) -> str:
    """`<kind>-<12 hex>`: sha256 of weights.h5, then of the kind's versioned files the folder holds
    (etl.models.registry.versioned_files, in their order)."""
    digest = hashlib.sha256()
    extras = [Path(folder) / name for name in versioned_files(kind)]
    for path in [Path(folder) / "weights.h5"] + [p for p in extras if p.is_file()]:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return f"{kind}-{digest.hexdigest()[:12]}"


def module_source(name: str) -> bytes:
    """The source text of module `name`, UTF-8 with \\n line ends (its import loader decodes it
    with universal newlines, so a CRLF checkout hashes the same)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    source = spec.loader.get_source(name) if spec is not None and spec.loader is not None else None
    if source is None:
        raise RuntimeError(f"no source for {name}: a model's run-time version hashes the code that decides "
                           f"its output; install the package with its .py files")
    return source.encode("utf-8")


def source_fingerprint(modules, source=None) -> str:
    """12 hex digits of the sha256 over `modules`, each as its name and its source text
    (`source(name) -> bytes`, default module_source): never a path or a modification time, so every
    checkout with the same code gets the same fingerprint, and any edit of that code changes it."""
    source = source or module_source
    digest = hashlib.sha256()
    for name in modules:
        text = source(name)
        digest.update(f"{name}\n{len(text)}\n".encode("utf-8"))
        digest.update(text)
    return digest.hexdigest()[:12]


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


def validate_folder(folder: str | Path, kind: str, check_version: bool = True) -> Path:
    """A model folder checked as a whole before anything is loaded (`etl run`): every file there,
    readable and of the right shape, vocab.txt as long as the encoder's vocabulary, and the files
    the version covers unchanged since training (another model's weights, a hand-edited threshold).
    Each problem is a ConfigError (exit 1) naming the file; what is left to fail (weights that do
    not fit the model's layers) `etl.models.registry.load_checked` names too. `check_version=False` (predict and
    evaluate commands): a folder edited on purpose (a rules edit being measured) is fine there."""
    folder = check_folder(folder, kind)

    def bad(name: str, what: str) -> ConfigError:
        return ConfigError(f"{kind} model folder {folder}: {name} {what} (retrain with `etl train {kind}`, "
                           f"or restore the folder as trained)")

    def json_file(name: str, shape: type):
        try:
            value = read_json(folder / name)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise bad(name, f"is not readable JSON ({error})") from None
        if not isinstance(value, shape) or not value:
            raise bad(name, f"must be a non-empty JSON {'object' if shape is dict else 'list'}, got "
                            f"{json.dumps(value, ensure_ascii=False)[:60]}")
        return value

    config = json_file("encoder_config.json", dict)
    size = config.get("vocab_size")
    if not isinstance(size, int) or size <= 0:
        raise bad("encoder_config.json", f"has no positive vocab_size (got {size!r})")
    json_file("labels.json", dict)
    for name in ("thresholds.json", "note_thresholds.json"):
        if (folder / name).is_file():
            thresholds = json_file(name, dict)
            if name == "note_thresholds.json":  # {"thresholds": {...}, "min_triple_score": x, "scale": x}
                floor = thresholds.get("min_triple_score", 0.0)
                if not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
                    raise bad(name, f"min_triple_score must be a number from 0 to 1, got {floor!r}")
                thresholds = thresholds.get("thresholds")
                if not isinstance(thresholds, dict):
                    raise bad(name, "must hold a \"thresholds\" object")
            wrong = [k for k, v in thresholds.items() if not isinstance(v, (int, float)) or not 0 <= v <= 1]
            if wrong:
                raise bad(name, f"must map labels to numbers from 0 to 1 (not: {', '.join(wrong[:3])})")
    if kind == "spans" and (folder / "knowledge.tsv").is_file():
        from etl.models.spans.knowledge import FindingKnowledge

        try:
            FindingKnowledge.load(folder / "knowledge.tsv")
        except (DataError, OSError, UnicodeDecodeError) as error:
            raise bad("knowledge.tsv", f"is not a knowledge file ({error})") from None
    try:
        lines = vocab_lines(folder)
    except (OSError, UnicodeDecodeError) as error:
        raise bad("vocab.txt", f"is not readable UTF-8 text ({error})") from None
    if lines != size:
        raise bad("vocab.txt", f"has {lines} lines but encoder_config.json says vocab_size {size}")
    import h5py

    try:
        with h5py.File(folder / "weights.h5", "r"):
            pass
    except OSError as error:
        raise bad("weights.h5", f"is not a readable weights file (truncated or not HDF5: {error})") from None
    changed = changed_since_training(kind, folder) if check_version else None
    if changed:
        files, version, actual = changed
        raise bad(files, f"changed since training: version.txt says {version}, the files hash to {actual} "
                         f"(another model's files, or edited by hand)")
    return folder


def vocab_lines(folder: Path) -> int:
    with open(folder / "vocab.txt", encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def changed_since_training(kind: str, folder: Path) -> tuple[str, str, str] | None:
    """(the versioned files, version.txt's version, what they hash to now) when they differ."""
    version, actual = read_version(folder), folder_version(kind, folder)
    if version == actual:
        return None
    return " + ".join(("weights.h5",) + versioned_files(kind)), version, actual


def read_version(folder: str | Path) -> str:
    return (Path(folder) / "version.txt").read_text(encoding="utf-8").strip()


def finish_folder(kind: str, folder: Path, settings_record: dict, metrics: dict) -> str:
    """The last files of a model folder whose weights and extras are written: settings.json,
    version.txt (folder_version) and metrics.json (with the version and the folder's size).
    Returns the version."""
    write_json(folder / "settings.json", settings_record)
    version = folder_version(kind, folder)
    (folder / "version.txt").write_text(version + "\n", encoding="utf-8")
    metrics = dict(metrics, version=version)
    metrics["folder_bytes"] = sum(p.stat().st_size for p in folder.iterdir() if p.name != "metrics.json")
    write_json(folder / "metrics.json", metrics)
    return version


def replace_folder(staging: Path, out: Path) -> None:
    """Move a finished `staging` folder to `out`, so a reader never sees a half-written model."""
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def save_weights_f16(model, path: str | Path) -> None:
    """Keras HDF5 weights with the float32 arrays stored as float16.

    Keras writes a float32 file first; it is copied into a fresh file (HDF5 never reclaims the
    space of deleted datasets, so rewriting in place would not shrink anything).
    """
    import h5py

    path = Path(path)
    full = path.with_name(path.name + ".f32")
    model.save_weights(str(full), save_format="h5")

    def copy(source, target):
        target.attrs.update(source.attrs)
        for name, item in source.items():
            if isinstance(item, h5py.Group):
                copy(item, target.create_group(name))
                continue
            data = item[()]
            if data.dtype == np.float32:
                data = data.astype(np.float16)
            target.create_dataset(name, data=data).attrs.update(item.attrs)

    try:
        with h5py.File(full, "r") as source, h5py.File(path, "w") as target:
            copy(source, target)
    finally:
        full.unlink(missing_ok=True)


def round_to_f16(model) -> None:
    """Make the in-memory weights exactly what float16 storage will give back on load."""
    model.set_weights([w.astype(np.float16).astype(w.dtype) if w.dtype == np.float32 else w
                       for w in model.get_weights()])
