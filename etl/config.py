"""Settings: `config.toml` read with tomllib into typed, frozen dataclasses.

Precedence (last wins): built-in defaults < config file < environment (`ETL_<SECTION>_<KEY>`,
e.g. `ETL_RELATION_BATCH_SIZE=64`, `ETL_GRAPH_NEO4J_URI=bolt://db:7687`) < CLI (`--set
relation.batch_size=64` and the commands' own options). Unknown keys and wrong types are errors that
name the key. Secrets never live here: the graph password comes only from the environment
(`NEO4J_PASSWORD`, `FALKORDB_PASSWORD`), see `secret()`.

Which file: `find_config()` — `--config`, else `$ETL_CONFIG`, else `./config.toml`, else the
installation's own `config.toml` (beside the `etl` package: the checkout, or /app in the image),
else none. So `etl` started by cron from `$HOME` reads the same settings as from the project.

Relative paths in a config file are relative to that file's folder; relative paths in the built-in
defaults are relative to the installation (never the working directory); relative paths from the
environment or the command line are relative to the working directory.
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
import urllib.parse
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from etl.errors import ConfigError
# The stores' own sections live in their packages (etl/graph/<store>/settings.py: no driver imported).
from etl.graph.falkordb.settings import FalkorDBSettings
from etl.graph.neo4j.settings import Neo4jSettings

ENV_PREFIX = "ETL_"
INSTALL_ROOT = Path(__file__).resolve().parents[1]  # the folder holding the etl package
CONFIG_NAME = "config.toml"
SECRET_ENV = {"neo4j": "NEO4J_PASSWORD", "falkordb": "FALKORDB_PASSWORD"}
_SECRET_KEYS = {"password", "pass", "passwd", "secret", "token"}


# --------------------------------------------------------------------------- choices
# Every list of accepted values is declared once, as a Literal type: the setting is annotated with it
# (`_check` accepts nothing else), the code that acts on it reads it, and the CLI's options offer it
# (`click.Choice(typing.get_args(RelationLoss))`). None of them imports anything heavy.
RelationLoss = Literal["bce", "weighted_bce", "focal"]  # etl/models/relation/losses.py
RelationHead = Literal["cls", "pool", "cnn_pool"]  # etl/models/relation/model.py
AssertionDecision = Literal["model", "rules", "gated"]  # etl/models/assertion/model.py
StoreKind = Literal["falkordb", "neo4j"]  # the graph stores (`etl db --sink`)
SinkKind = Literal[StoreKind, "none"]  # where a run writes (graph.sink, `etl run --sink`); none: a dry run
Engine = Literal["local", "ray"]  # run.engine, `etl run --engine`
RuntimeDevice = Literal["auto", "cpu", "gpu"]  # runtime.device (etl/runtime.py)


# --------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class DataSettings:
    """Training/evaluation data (CMeIE/CMeEE files) and the deterministic train/dev split."""
    cmeie_labeled: Path = Path("../shared/data/cmeie/cmeie_labeled.jsonl")
    cmeie_unlabeled: Path = Path("../shared/data/cmeie/cmeie_unlabeled.jsonl")
    cmeee_train: Path = Path("../shared/data/cmeee/cmeee_train.txt")
    cmeee_dev: Path = Path("../shared/data/cmeee/cmeee_dev.txt")
    vocab: Path = Path("../shared/data/vocab/chinese_bert_vocab.txt")
    corpus: Path = Path("../shared/data/corpus/medical_text.txt")  # unlabelled text (pretraining)
    notes: Path = Path("../shared/data/notes/ccks2017_notes.parquet")  # clinical notes (pretraining)
    cdee_train: Path = Path("../shared/data/cdee/cdee_train.jsonl")  # findings + assertion (training)
    cdee_dev: Path = Path("../shared/data/cdee/cdee_dev.jsonl")  # findings + assertion (evaluation)
    emr_re_train: Path = Path("../shared/data/emr_re/emr_re_train.jsonl")  # triples in admission notes (training)
    emr_re_dev: Path = Path("../shared/data/emr_re/emr_re_dev.jsonl")  # the same, held out (etl evaluate notes)
    tumor_reports: Path = Path("../shared/data/emr_attr/ccks2019_tumor_attributes.jsonl")  # report text (pretraining)
    note_entities: Path = Path("../shared/data/notes/ccks2017_ner.jsonl")  # gold entities of notes (span training)
    cdn_train: Path = Path("../shared/data/cdn/chip_cdn_train.jsonl")  # diagnosis -> ICD-10 names (normaliser)
    cdn_dev: Path = Path("../shared/data/cdn/chip_cdn_dev.jsonl")  # the same, held out (etl evaluate normalize)
    icd10: Path = Path("../shared/data/cdn/icd10_beijing_clinical_v601.tsv")  # code<TAB>name: the concepts
    surgery_terms: Path = Path("../shared/data/cdn/surgery_terms_2500.tsv")  # raw<TAB>code<TAB>ICD-9-CM-3 name
    pairs: Path = Path("../shared/data/pairs")  # CBLUE text pairs (the siamese encoder's first task)
    dev_size: int = 500
    split_seed: int = 20201118


@dataclass(frozen=True)
class EncoderSettings:
    """Shape of an encoder built from scratch (ignored when a checkpoint folder is given)."""
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    embedding_size: int = 128
    max_position_embeddings: int = 512
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1


@dataclass(frozen=True)
class RelationEncoderSettings(EncoderSettings):
    """The relation classifier's from-scratch encoder is smaller (2,500 training texts; MODELS.md)."""
    hidden_size: int = 128
    num_hidden_layers: int = 1
    intermediate_size: int = 512


@dataclass(frozen=True)
class SpanEncoderSettings(EncoderSettings):
    """The span extractor's from-scratch ELECTRA (MODELS.md): small enough for a CPU budget."""
    hidden_size: int = 128
    num_hidden_layers: int = 3
    intermediate_size: int = 512


@dataclass(frozen=True)
class RelationSettings:
    """Multi-label relation classifier (ALBERT encoder + sigmoid head over the 44 predicates)."""
    model_dir: Path = Path("models/relation")
    encoder_checkpoint: Path | None = None
    buckets: tuple[int, ...] = (64, 128, 256)
    batch_size: int = 32
    threshold: float = 0.5
    loss: RelationLoss = "weighted_bce"
    head: RelationHead = "pool"
    epochs: int = 20
    learning_rate: float = 1e-3
    warmup_ratio: float = 0.1
    clip_norm: float = 1.0
    focal_gamma: float = 2.0
    focal_alpha: float = 0.25
    head_dropout: float = 0.1
    token_dropout: float = 0.0
    lexical: bool = True
    lexical_scale: float = 10.0
    lexical_l2: float = 1e-4
    bigram_min_count: int = 2
    pretrain_epochs: int = 0
    pretrain_learning_rate: float = 1e-3
    pretrain_max_samples: int = 0
    threshold_min_support: int = 50
    trim_vocab: bool = True
    max_train_samples: int = 0
    # also train on the windows of data.emr_re_train (dev: + data.emr_re_dev), as a run reads them
    notes: bool = True
    # `etl train relation --tune-notes`: scales of the thresholds tried for notes' passages, and least
    # triple scores (relation probability x span pointers), end to end on data.emr_re_dev
    note_scale_grid: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    note_min_score_grid: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)
    seed: int = 42
    encoder: RelationEncoderSettings = field(default_factory=RelationEncoderSettings)


@dataclass(frozen=True)
class SpanSettings:
    """Relation-conditioned MRC span extractor (ELECTRA encoder + start/end pointers)."""
    model_dir: Path = Path("models/spans")
    # the ELECTRA MLM-pretrained on the shared medical text (etl pretrain; +20 span F1 over scratch)
    encoder_checkpoint: Path | None = Path("models/encoders/electra-mlm")
    buckets: tuple[int, ...] = (64, 96, 128, 192, 256)
    batch_size: int = 16
    start_threshold: float = 0.5
    end_threshold: float = 0.5
    # after training, the threshold (start = end) with the best dev triple F1 is saved with the model
    threshold_grid: tuple[float, ...] = (0.4, 0.5, 0.6, 0.7)
    max_span_len: int = 40
    epochs: int = 15
    learning_rate: float = 1e-3  # best from the pretrained encoder; from scratch 1e-3 and 2e-3 tie
    warmup_ratio: float = 0.1
    clip_norm: float = 1.0
    positive_weight: float = 3.0  # loss weight of boundary tokens (start/end) against the rest
    negatives_per_text: float = 0.25  # empty-answer questions per text and turn (classifier mistakes)
    with_cmeee: bool = True  # add CMeEE entity questions ("找出文本中的疾病") to training
    cmeee_ratio: float = 0.5  # CMeEE questions per epoch, as a share of the CMeIE questions
    lexicon: bool = True  # entity-string flags (CMeIE train + CMeEE) as an encoder input (lexicon.py)
    trim_vocab: bool = True  # from-scratch encoder: keep only the tokens the training text uses
    # clinical notes (issue 27): the windows of data.emr_re_train as the pipeline reads them, the
    # main-condition question, and the best epoch / threshold chosen on CMeIE dev + data.emr_re_dev
    notes: bool = True
    note_negatives: float = 1.0  # empty-answer questions per note window and kind
    note_repeat: int = 2  # times the notes' questions are seen per epoch (they are a third of the CMeIE count)
    note_entities: bool = True  # entity questions from the notes' gold entities (emr_re + data.note_entities)
    init_model: Path | None = None  # start from this span model folder's weights (fine-tuning; same vocab)
    seed: int = 42
    encoder: SpanEncoderSettings = field(default_factory=SpanEncoderSettings)


@dataclass(frozen=True)
class AssertionSettings:
    """Assertion status of every finding: present / absent / possible (ELECTRA classifier over a
    marked mention in its context, beside the ConText rules; etl/models/assertion)."""
    enabled: bool = True  # false: every finding is taken as present (the pre-assertion behaviour)
    model_dir: Path = Path("models/assertion")
    encoder_checkpoint: Path | None = Path("models/encoders/electra-mlm")
    rules: Path | None = None  # ConText rule file for training; empty: the packaged context_rules.tsv
    # How findings are decided: model | rules | gated (the rules first, the model only where a cue is
    # near). Empty: the folder's own (training picks the decision with the best dev accuracy).
    decision: Literal["", AssertionDecision] = ""
    rule_features: bool = True  # the rules' cue matches as token features of the model
    augment: bool = True  # training copies of denied findings with the cue inside the mention (无咳嗽)
    left_chars: int = 64  # context before the mention (cut at the sentence start)
    right_chars: int = 32  # context after the mention (cut after the sentence end)
    buckets: tuple[int, ...] = (32, 64, 96, 128)
    batch_size: int = 32
    epochs: int = 8
    learning_rate: float = 5e-4
    warmup_ratio: float = 0.1
    clip_norm: float = 1.0
    dropout: float = 0.1
    possible_weight: float = 2.0  # loss weight of the rare possible class (4% of the findings)
    trim_vocab: bool = True  # from-scratch encoder: keep only the tokens the training text uses
    seed: int = 42
    encoder: SpanEncoderSettings = field(default_factory=SpanEncoderSettings)


@dataclass(frozen=True)
class SurgeryNormalizerSettings:
    """Surgery entities -> ICD-9-CM-3 concepts: a second normaliser folder (the same model code,
    etl/models/normalizer/surgery.py builds it) with its own labels and link threshold."""
    enabled: bool = True  # false: only normalizer.labels are normalised
    model_dir: Path = Path("models/normalizer-surgery")
    labels: tuple[str, ...] = ("Surgery",)  # entity labels this folder normalises (none of normalizer.labels)
    min_score: float = 0.8  # a graph link needs this scorer probability: the least with cross-fitted precision
    # >= 0.85 on the training rows (MODELS.md: surgery normaliser)
    base_dir: Path = Path("models/normalizer")  # the normaliser folder whose tower the surgery folder starts from
    held_out: int = 500  # data.surgery_terms rows held out for the figures (a seeded shuffle)
    split_seed: int = 28
    folds: int = 5  # the decision is fitted on the training rows, each fold's aliases from the other folds
    epochs: int = 3  # fine-tuning of the tower on the training rows (0: the disease tower as it is; MODELS.md)
    learning_rate: float = 1e-4
    seed: int = 42


@dataclass(frozen=True)
class NormalizerSettings:
    """Disease entities -> ICD-10 concepts (etl/models/normalizer; etl/normalize.py after the writes)."""
    enabled: bool = True  # false: no Concept nodes are written (no normaliser loaded)
    model_dir: Path = Path("models/normalizer")
    labels: tuple[str, ...] = ("Disease",)  # entity labels whose names are normalised
    page: int = 512  # entity names read, normalised and linked per step
    # a graph link needs this scorer probability (the folder's own threshold is CHIP-CDN's best F1)
    min_score: float = 0.5
    encoder_checkpoint: Path | None = Path("models/encoders/electra-mlm")
    pair_epochs: int = 1  # CBLUE pair tasks (softmax over (u, v, |u-v|)) before CHIP-CDN
    pair_batch_size: int = 64
    pair_learning_rate: float = 5e-4
    cdn_epochs: int = 8  # CHIP-CDN positives against in-batch and retrieved hard negatives
    cdn_batch_size: int = 32
    cdn_learning_rate: float = 5e-4
    hard_negatives: int = 3  # per positive, drawn from the lexical retriever's top 30 non-gold names
    scale: float = 20.0  # cosine -> logit scale of the CHIP-CDN softmax
    scorer_records: int = 1000  # CHIP-CDN training records held out from the encoder, to fit the decision on
    seed: int = 42
    surgery: SurgeryNormalizerSettings = field(default_factory=SurgeryNormalizerSettings)


@dataclass(frozen=True)
class InputSettings:
    """Columns of the Parquet notes and what counts as a bad row."""
    id_column: str = "doc_id"
    text_column: str = "text"
    metadata_columns: tuple[str, ...] = ("section",)
    max_text_chars: int = 200_000
    read_batch_rows: int = 256


@dataclass(frozen=True)
class WindowSettings:
    """How long notes are cut into model-sized windows (characters)."""
    max_chars: int = 200
    overlap_chars: int = 40


@dataclass(frozen=True)
class GraphSettings:
    sink: SinkKind = "falkordb"
    batch_size: int = 2000  # rows per UNWIND statement
    write_triples: int = 10_000  # evidence rows gathered into one sink write (a write costs per write)
    write_seconds: float = 60.0  # longest a finished document waits for its write
    neo4j: Neo4jSettings = field(default_factory=Neo4jSettings)
    falkordb: FalkorDBSettings = field(default_factory=FalkorDBSettings)


@dataclass(frozen=True)
class RunSettings:
    reports_dir: Path = Path("var/reports")
    quarantine_dir: Path = Path("var/quarantine")
    engine: Engine = "local"  # local: threads in this process | ray: Ray Data reads, the model stages on Ray actors


@dataclass(frozen=True)
class RaySettings:
    """`etl run --engine ray` (etl/run/ray_engine.py): where the cluster is and how the actors are cut."""
    address: str = ""  # "" starts a local Ray in this process; "auto" or "ray://host:10001" joins a cluster
    connect_timeout: float = 30.0  # seconds to join `address` before the run stops (exit 1): cron must not hang
    local_cpus: int = 2  # CPUs of the local Ray (address = "")
    actors: int = 1  # model actors; each holds the relation, span and assertion models, loaded once
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0  # e.g. 1 (or 0.5: two actors share a GPU)
    batch_rows: int = 64  # documents per actor call
    read_cpus: float = 0.0  # CPUs per Ray Data read task (0: reading never waits for the actors' CPUs)


@dataclass(frozen=True)
class RuntimeBatchSizes:
    """Inference batch sizes (windows or questions per model call) on each device."""
    relation_cpu: int = 64
    relation_gpu: int = 512
    spans_cpu: int = 64
    spans_gpu: int = 512
    assertion_cpu: int = 64
    assertion_gpu: int = 512


@dataclass(frozen=True)
class RuntimeSettings:
    """Where and how the models run (etl/runtime.py applies these once per process)."""
    device: RuntimeDevice = "auto"  # auto: the GPU when TensorFlow sees one, else the CPU | cpu | gpu
    memory_growth: bool = True  # GPU: allocate memory as needed, not all of it up front
    mixed_precision: bool = False  # GPU only: float16 compute; never applied on the CPU
    xla: bool = False  # XLA auto-clustering (tf.config.optimizer.set_jit)
    batch_size: RuntimeBatchSizes = field(default_factory=RuntimeBatchSizes)


@dataclass(frozen=True)
class Settings:
    data: DataSettings = field(default_factory=DataSettings)
    relation: RelationSettings = field(default_factory=RelationSettings)
    spans: SpanSettings = field(default_factory=SpanSettings)
    assertion: AssertionSettings = field(default_factory=AssertionSettings)
    normalizer: NormalizerSettings = field(default_factory=NormalizerSettings)
    input: InputSettings = field(default_factory=InputSettings)
    windows: WindowSettings = field(default_factory=WindowSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)
    run: RunSettings = field(default_factory=RunSettings)
    ray: RaySettings = field(default_factory=RaySettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)



# --------------------------------------------------------------------------- loading
def load_settings(
    path: str | Path | None = None,
    overrides: typing.Mapping[str, str] | None = None,
    environ: typing.Mapping[str, str] | None = None,
) -> Settings:
    """Defaults, then the TOML file (if any), then `ETL_*` environment variables, then overrides.

    `overrides` maps dotted keys (`relation.batch_size`) to strings, parsed like env values.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, object] = _installation_defaults(Settings, "")
    if path is not None:
        path = Path(path)
        try:
            with open(path, "rb") as handle:
                document = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
        _flatten_file(document, Settings, "", path.resolve().parent, values, str(path))
    env_keys = _env_names(Settings)
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _IGNORED_ENV:
            continue
        key = env_keys.get(name)
        if key is None:
            raise ConfigError(f"environment variable {name} is not a setting "
                              f"(known: {', '.join(sorted(env_keys)[:6])}, ...; see config.toml)")
        values[key] = _parse_text(key, value, f"environment variable {name}", Path.cwd())
    for key, value in (overrides or {}).items():
        if _field_type(key) is None:
            raise ConfigError(f"unknown setting {key!r} (use section.key, e.g. relation.batch_size)")
        values[key] = _parse_text(key, value, f"--set {key}", Path.cwd())
    settings = _build(Settings, "", values)
    _check(settings)
    return settings


# ETL_* variables that belong to the tooling rather than to config.toml.
_IGNORED_ENV = {"ETL_CONFIG"}


def find_config(explicit: str | Path | None = None, environ: typing.Mapping[str, str] | None = None,
                cwd: Path | None = None) -> Path | None:
    """The settings file to read: --config, $ETL_CONFIG, ./config.toml, the installation's
    config.toml, or None (built-in defaults). An explicit or $ETL_CONFIG file that does not exist
    is an error when loaded, never silently replaced by another."""
    environ = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if environ.get("ETL_CONFIG"):
        return Path(environ["ETL_CONFIG"])
    for candidate in ((cwd or Path.cwd()) / CONFIG_NAME, INSTALL_ROOT / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def _installation_defaults(cls, prefix: str) -> dict[str, Path]:
    """Relative default paths resolved against the installation, not the working directory."""
    out: dict[str, Path] = {}
    for f in dataclasses.fields(cls):
        key, kind = f"{prefix}{f.name}", _hints(cls)[f.name]
        if dataclasses.is_dataclass(kind):
            out.update(_installation_defaults(kind, key + "."))
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        if isinstance(default, Path) and not default.is_absolute():
            out[key] = INSTALL_ROOT / default
    return out


def secret(sink: str, environ: typing.Mapping[str, str] | None = None) -> str | None:
    """The password for a graph sink, from the environment only (never logged, never in files)."""
    environ = os.environ if environ is None else environ
    return environ.get(SECRET_ENV[sink]) or None


def as_dict(settings: Settings) -> dict:
    """Plain JSON-ready dict (paths as strings): for run reports and model folders."""
    def plain(value):
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value
    return plain(settings)


def replace(settings: Settings, **dotted: object) -> Settings:
    """A copy with some dotted keys replaced by already-typed values (used by CLI options)."""
    values = {key.replace("__", "."): value for key, value in dotted.items() if value is not None}
    for key in values:
        if _field_type(key) is None:
            raise ConfigError(f"unknown setting {key!r}")
    result = _build(Settings, "", values, base=settings)
    _check(result)
    return result


# --------------------------------------------------------------------------- internals
def _hints(cls) -> dict[str, object]:
    return typing.get_type_hints(cls)


def _field_type(key: str):
    cls: object = Settings
    parts = key.split(".")
    for i, part in enumerate(parts):
        hints = _hints(cls) if dataclasses.is_dataclass(cls) else {}
        if part not in hints:
            return None
        cls = hints[part]
        if i < len(parts) - 1 and not dataclasses.is_dataclass(cls):
            return None
    return None if dataclasses.is_dataclass(cls) else cls


def _env_names(cls, prefix: str = "") -> dict[str, str]:
    names = {}
    for name, kind in _hints(cls).items():
        key = f"{prefix}{name}"
        if dataclasses.is_dataclass(kind):
            names.update(_env_names(kind, key + "."))
        else:
            names[ENV_PREFIX + key.replace(".", "_").upper()] = key
    return names


def _flatten_file(table: dict, cls, prefix: str, base_dir: Path, out: dict, source: str) -> None:
    hints = _hints(cls)
    for name, value in table.items():
        key = f"{prefix}{name}"
        if name.lower() in _SECRET_KEYS:
            raise ConfigError(f"{source}: {key}: secrets are not read from files; set "
                              f"{', '.join(SECRET_ENV.values())} in the environment")
        if name not in hints:
            known = ", ".join(sorted(hints))
            raise ConfigError(f"{source}: unknown setting {key!r} (known in this section: {known})")
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: {key} must be a table [{key}]")
            _flatten_file(value, kind, key + ".", base_dir, out, source)
        else:
            out[key] = _coerce(key, value, kind, source, base_dir)


def _coerce(key: str, value, kind, source: str, base_dir: Path):
    """Check a TOML value against the field's type."""
    optional = typing.get_origin(kind) in (typing.Union, __import__("types").UnionType) and \
        type(None) in typing.get_args(kind)
    if optional:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
        if value == "":  # TOML has no null: an empty string means "not set"
            return None
    origin = typing.get_origin(kind)
    bad = ConfigError(f"{source}: {key} must be {_type_name(kind)}, got {value!r}")
    if kind is Path:
        if not isinstance(value, str):
            raise bad
        path = Path(value).expanduser()
        return path if path.is_absolute() else (base_dir / path)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        if not isinstance(value, list):
            raise bad
        return tuple(_coerce(key, v, item, source, base_dir) for v in value)
    if kind is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if kind is str or origin is Literal:  # a Literal's choices are checked with the rest (_check)
        if not isinstance(value, str):
            raise bad
        return value
    raise ConfigError(f"{key}: unsupported setting type {kind}")  # a programming error


def _parse_text(key: str, text: str, source: str, base_dir: Path):
    """Parse an env/CLI string for a field: ints, floats, bools, comma lists, paths."""
    kind = _field_type(key)
    if kind is None:
        raise ConfigError(f"{source}: unknown setting {key!r}")
    inner = kind
    if typing.get_origin(kind) in (typing.Union, __import__("types").UnionType):
        inner = next(a for a in typing.get_args(kind) if a is not type(None))
        if text.strip() == "":
            return None
    try:
        if typing.get_origin(inner) is tuple:
            parts = [p.strip() for p in text.split(",") if p.strip()]
            value = [_scalar(typing.get_args(inner)[0], p) for p in parts]
        else:
            value = _scalar(inner, text.strip())
    except ValueError:
        raise ConfigError(f"{source}: {key} must be {_type_name(kind)}, got {text!r}") from None
    return _coerce(key, value, kind, source, base_dir)


def _scalar(kind, text: str):
    if kind is bool:
        lowered = text.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ValueError(text)
    if kind is int:
        return int(text)
    if kind is float:
        return float(text)
    return text  # str and Path


def _type_name(kind) -> str:
    if typing.get_origin(kind) is tuple:
        return f"a list of {_type_name(typing.get_args(kind)[0])}"
    if typing.get_origin(kind) in (typing.Union, __import__("types").UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(kind) if a is not type(None)) + " (or empty)"
    if typing.get_origin(kind) is Literal:  # the choices are all strings
        return "a string"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            Path: "a path (string)"}.get(kind, str(kind))


def _build(cls, prefix: str, values: dict, base=None):
    kwargs = {}
    for name, kind in _hints(cls).items():
        key = f"{prefix}{name}"
        current = getattr(base, name) if base is not None else None
        if dataclasses.is_dataclass(kind):
            kwargs[name] = _build(kind, key + ".", values, current)
        elif key in values:
            kwargs[name] = values[key]
        elif base is not None:
            kwargs[name] = current
    return cls(**kwargs)


def _choices(cls, prefix: str = ""):
    """(key, accepted values) of every setting typed with a Literal (the choices declared above)."""
    for name, kind in _hints(cls).items():
        if dataclasses.is_dataclass(kind):
            yield from _choices(kind, f"{prefix}{name}.")
        elif typing.get_origin(kind) is Literal:
            yield prefix + name, set(typing.get_args(kind))


def _numbers(node, prefix: str = ""):
    """(key, value) of every float setting, nested sections and lists included."""
    for f in dataclasses.fields(node):
        value, key = getattr(node, f.name), prefix + f.name
        if dataclasses.is_dataclass(value):
            yield from _numbers(value, key + ".")
        elif isinstance(value, float):
            yield key, value
        elif isinstance(value, tuple):
            yield from ((key, v) for v in value if isinstance(v, float))


# FalkorDB graph names are Redis keys the CLI and templates pass around: plain identifiers.
_GRAPH_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_FALKORDB_SCHEMES = ("redis", "rediss", "unix")


def _get(settings: Settings, key: str):
    value = settings
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _check(settings: Settings) -> None:
    for key, value in _numbers(settings):  # nan passes every comparison below, inf every bound
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
    for key, allowed in _choices(Settings):
        value = _get(settings, key)
        if value not in allowed:
            raise ConfigError(f"{key} must be one of {sorted(allowed)}, got {value!r}")
    for key in ("relation.buckets", "spans.buckets", "assertion.buckets"):
        section, name = key.split(".")
        buckets = getattr(getattr(settings, section), name)
        if not buckets or list(buckets) != sorted(set(buckets)) or buckets[0] < 8:
            raise ConfigError(f"{key} must be increasing lengths >= 8, got {list(buckets)}")
    for key in ("relation.batch_size", "spans.batch_size", "assertion.batch_size", "graph.batch_size",
                "graph.write_triples", "graph.write_seconds",
                "input.read_batch_rows", "windows.max_chars", "normalizer.page", "normalizer.pair_batch_size",
                "normalizer.cdn_batch_size", "normalizer.cdn_epochs", "normalizer.scale", "ray.local_cpus",
                "ray.actors",
                "ray.cpus_per_actor", "ray.batch_rows", "ray.connect_timeout"):
        section, name = key.split(".")
        if getattr(getattr(settings, section), name) <= 0:
            raise ConfigError(f"{key} must be positive")
    if not 0.0 <= settings.normalizer.min_score <= 1.0:
        raise ConfigError(f"normalizer.min_score must be from 0 to 1, got {settings.normalizer.min_score!r}")
    if settings.normalizer.pair_epochs < 0 or settings.normalizer.hard_negatives < 0:
        raise ConfigError("normalizer.pair_epochs and normalizer.hard_negatives must be >= 0")
    surgery = settings.normalizer.surgery
    if not 0.0 <= surgery.min_score <= 1.0:
        raise ConfigError(f"normalizer.surgery.min_score must be from 0 to 1, got {surgery.min_score!r}")
    if surgery.held_out <= 0 or surgery.folds < 2 or surgery.epochs < 0 or surgery.learning_rate <= 0:
        raise ConfigError("normalizer.surgery: held_out and learning_rate must be positive, folds >= 2, epochs >= 0")
    shared = set(surgery.labels) & set(settings.normalizer.labels)
    if surgery.enabled and shared:  # an entity carries one normaliser's version: two would relink it for ever
        raise ConfigError(f"normalizer.labels and normalizer.surgery.labels share {sorted(shared)}: each label "
                          f"is normalised by one folder")
    for name, value in vars(settings.runtime.batch_size).items():
        if value <= 0:
            raise ConfigError(f"runtime.batch_size.{name} must be positive")
    for key in ("gpus_per_actor", "read_cpus"):
        if getattr(settings.ray, key) < 0:
            raise ConfigError(f"ray.{key} must be >= 0")
    if not 0 <= settings.windows.overlap_chars < settings.windows.max_chars:
        raise ConfigError("windows.overlap_chars must be >= 0 and smaller than windows.max_chars")
    columns = settings.input.metadata_columns
    for column in columns:  # they become Document properties (meta_<name>): a backtick broke the write
        if not column.strip() or "`" in column or any(ord(ch) < 32 for ch in column):
            raise ConfigError(f"input.metadata_columns: {column!r} cannot be a property name (empty, a backtick "
                              f"or a control character): rename the column or leave it out")
    if len(set(columns)) != len(columns) or {settings.input.id_column, settings.input.text_column} & set(columns):
        raise ConfigError(f"input.metadata_columns must be distinct and not the id or text column, got {list(columns)}")
    for key in ("graph.falkordb.socket_timeout", "graph.neo4j.connection_timeout"):
        if _get(settings, key) <= 0:
            raise ConfigError(f"{key} must be a positive number of seconds, got {_get(settings, key)!r}")
    if settings.graph.neo4j.max_retry_time < 0:
        raise ConfigError(f"graph.neo4j.max_retry_time must be >= 0, got {settings.graph.neo4j.max_retry_time!r}")
    falkordb = settings.graph.falkordb
    if not _GRAPH_NAME.fullmatch(falkordb.graph_name):
        raise ConfigError(f"graph.falkordb.graph_name must be 1-64 letters, digits, _ . - (not starting with . "
                          f"or -), got {falkordb.graph_name!r}")
    if falkordb.url:
        parsed = urllib.parse.urlsplit(falkordb.url)
        if parsed.scheme not in _FALKORDB_SCHEMES or not (parsed.path if parsed.scheme == "unix" else parsed.hostname):
            raise ConfigError(f"graph.falkordb.url must be empty (the embedded server), redis://host:port, "
                              f"rediss://host:port or unix:///path/to.sock, got {falkordb.url!r}")
