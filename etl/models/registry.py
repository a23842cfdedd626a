"""The model kinds in one table: which class serves each kind, which setting names its folder, which
of its files its version covers, and how a folder is loaded and warmed up for a run.

    kind        class (module:name)                                 folder setting
    relation    etl.models.relation.model:RelationClassifier        relation.model_dir
    spans       etl.models.spans.model:SpanExtractor                spans.model_dir
    assertion   etl.models.assertion.model:AssertionClassifier      assertion.model_dir
    normalizer  etl.models.normalizer.model:Normalizer              normalizer.model_dir (+ normalizer.surgery)

Importing this module imports no TensorFlow: a kind's class is named by its import path and only
imported when a model is loaded (`model_class`, `load_model`). The CLI (whose `--help` must stay
free of TensorFlow), etl.runtime and `etl.models.folder.folder_version` read the table before
`etl.runtime.configure` has set TensorFlow up, which must happen before TensorFlow is imported.

A run loads each of its models with `load_model`:

    from etl.models.registry import load_model, model_dir
    from etl.runtime import batch_size

    relations = load_model("relation", model_dir(settings, "relation"),
                           batch_size=batch_size(settings.runtime, "relation", runtime.device))
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from etl.errors import ConfigError

ModelKind = Literal["relation", "spans", "assertion", "normalizer"]


@dataclass(frozen=True)
class ModelSpec:
    """One model kind. `versioned`: the files besides weights.h5 that change what the model sees or
    decides, hashed after the weights in this order (etl.models.folder.folder_version); changing
    the tuple changes every shipped folder's version. They are data here rather than attributes
    declared on the classes because the classes' modules import TensorFlow and folder_version must
    not (each class exposes the same tuple as `VERSIONED_FILES`, read from here)."""
    kind: str
    class_path: str  # "module:name" of the class whose `load(folder, **options)` serves the folder
    section: str  # the settings section whose `model_dir` names the folder
    versioned: tuple[str, ...]
    batched: bool  # its load takes an inference batch size (runtime.batch_size.<kind>_cpu / _gpu)

    @property
    def setting(self) -> str:
        """The setting naming the folder, for errors and hints (`relation.model_dir`)."""
        return f"{self.section}.model_dir"

    @property
    def build(self) -> str:
        """The command that trains a folder of this kind."""
        return f"etl train {self.kind}"

    def load_class(self) -> type:
        """The class itself (imports its module, and so TensorFlow)."""
        module, _, name = self.class_path.partition(":")
        return getattr(importlib.import_module(module), name)


# The relation model's bigram features and decision thresholds; the span model's lexicon, knowledge
# and labels.json (questions, decoding thresholds); the assertion model's labels.json (its decision)
# and rules; the normaliser's decision, scorer and vocabulary. A loaded assertion (span) model's
# version also carries a hash of its rules (conditions) code (the classes' `load`).
MODELS: dict[str, ModelSpec] = {spec.kind: spec for spec in (
    ModelSpec("relation", "etl.models.relation.model:RelationClassifier", "relation",
              ("bigrams.txt", "thresholds.json", "note_thresholds.json"), batched=True),
    ModelSpec("spans", "etl.models.spans.model:SpanExtractor", "spans",
              ("lexicon.tsv", "labels.json", "knowledge.tsv"), batched=True),
    ModelSpec("assertion", "etl.models.assertion.model:AssertionClassifier", "assertion",
              ("labels.json", "context_rules.tsv"), batched=True),
    ModelSpec("normalizer", "etl.models.normalizer.model:Normalizer", "normalizer",
              ("labels.json", "scorer.json", "names.tsv", "aliases.tsv", "name_vectors.npy", "alias_vectors.npy"),
              batched=False),
)}


def spec(kind: str) -> ModelSpec:
    """The registered kind, or a ValueError naming the known ones (a kind comes from code, not users)."""
    try:
        return MODELS[kind]
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r} (known: {', '.join(MODELS)})") from None


def versioned_files(kind: str) -> tuple[str, ...]:
    """The files besides weights.h5 a `kind` folder's version hashes, in order; none for a kind
    that is not registered (its version is the weights' alone, as it always was)."""
    return MODELS[kind].versioned if kind in MODELS else ()


def model_class(kind: str) -> type:
    """The class serving `kind` folders (imports TensorFlow: configure the runtime first)."""
    return spec(kind).load_class()


def model_dir(settings, kind: str) -> Path:
    """The folder the settings name for `kind` (`<section>.model_dir`; the surgery normaliser's
    folder is etl.normalize.targets')."""
    return getattr(settings, spec(kind).section).model_dir


def load_model(kind: str, folder: str | Path, *, batch_size: int | None = None, warm_up: bool = True,
               **options):
    """The `kind` model of `folder`, loaded as `etl run` loads it.

    `<class>.load(folder, batch_size=batch_size, **options)` (batch_size only when given: None
    keeps the folder's own; a kind that is not `batched` takes none, a TypeError), its failures
    named as the folder's problem (`load_checked`: a ConfigError, exit 1); then,
    with `warm_up`, the model's `warm_up()`: its compiled functions traced once now, so the first
    documents meet a ready model and stage times measure inference. `options` are the class's
    load keywords, passed as given: `decision=` (assertion), `buckets=`, `threshold=` (relation),
    the decoding overrides of SpanExtractor.load, `with_scorer=` (normalizer).

    TensorFlow is imported here: call `etl.runtime.configure` before the first load. The folder is
    not validated here (`etl.models.folder.validate_folder` does that before any model loads)."""
    found = spec(kind)
    if batch_size is not None:
        if not found.batched:
            raise TypeError(f"{kind} models take no batch_size")
        options["batch_size"] = batch_size
    cls = found.load_class()  # outside load_checked: a failing import is a bug, not the folder's problem
    model = load_checked(kind, folder, lambda: cls.load(folder, **options))
    if warm_up:
        model.warm_up()
    return model


def load_checked(kind: str, folder: str | Path, load):
    """`load()` of a validated folder, its failures named: a model whose weights do not fit the
    layers its config and labels describe is the folder's problem (exit 1), not a bug."""
    try:
        return load()
    except ConfigError:
        raise
    except Exception as error:  # noqa: BLE001  (TensorFlow/Keras raise ValueError, OSError, KeyError ...)
        raise ConfigError(f"{kind} model folder {folder}: cannot be loaded ({type(error).__name__}: "
                          f"{str(error)[:300]}): weights.h5 does not fit the model that encoder_config.json "
                          f"and labels.json describe (retrain with `etl train {kind}`)") from None
