"""Assertion classifier: is a finding present, absent (denied) or possible (hedged) in its note?

    [CLS] context [SEP] (mention: segment 1 + feature channel 0; rule cues: channels 1..)
      -> ELECTRA (the project's MLM-pretrained small encoder, or a real Google-format checkpoint)
      -> [CLS] vector ++ mean of the mention's token vectors -> Dense(3, softmax)

Experiencer (patient / family) and historical findings have no training labels in CDEE: the
ConText rules (rules.py) decide them, always. The present/absent/possible decision is one of
(all three measured on the CDEE dev split by training, in metrics.json; MODELS.md):
- `model`: the classifier's argmax;
- `rules`: the ConText rules alone (no TensorFlow work at all);
- `gated`: the rules first; a mention whose context holds no cue the rules know is present
  without running the classifier, every other mention goes to the classifier.
The folder's `decision` (labels.json) is the one with the best dev accuracy unless training was
told otherwise; `assertion.decision` / `--decision` override it at run time, and the version then
says so (`assertion-<hash>@<code>+gated`), so evidence names what judged it and the ledger re-judges.

Model folder (etl.models.folder conventions) plus `context_rules.tsv`, the rules it was trained
and measured with (the file the loaded classifier judges by; the packaged copy beside rules.py is
what training copies in).

Version. The folder's `version.txt` is `assertion-<12 hex>`: the sha256 of weights.h5, labels.json
and that rules file (etl.models.folder.folder_version, written by training and checked by `etl
doctor`). What judges a finding is also code, so the version a loaded classifier carries (the one
the pipeline puts in the ledger and on every Evidence as `assertion_model`) adds the hash of the
code that decides a status, CODE_MODULES (the rule engine rules.py, the context cut and cue
features data.py, the decisions in this module):

    assertion-<weights + labels + rules file, 12 hex>@<code, 12 hex>[+<decision override>]

`code_fingerprint` hashes each module's name and source text (read through its import loader,
line endings normalised to \\n), never a path or a modification time, so every checkout and
machine with the same code gets the same version, and any edit of that code (a docstring too)
re-versions the stage and makes the nightly run re-judge every document. metrics.json records the
`code_fingerprint` its figures were measured with.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, get_args

import numpy as np

from etl.compat import keras, tf
from etl.config import AssertionDecision
from etl.records import PRESENT
from etl.models import folder as model_folder, registry
from etl.models.folder import module_source
from etl.errors import ConfigError
from etl.models.assertion.data import (CUE_CHANNELS, LABELS, EncodedMention, Mention, MentionEncoder, batches,
                                       make_batch, mention_context)
from etl.models.tokens import batch_rows, load_tokenizer

KIND = "assertion"
RULES_FILE = "context_rules.tsv"
DECISIONS = get_args(AssertionDecision)  # ("model", "rules", "gated"): module docstring
GATE_CATEGORIES = ("negated", "possible")  # rule categories that send a mention to the classifier
# The modules whose code decides a status, hashed into the version a loaded classifier carries
# (module docstring): the rule engine, what the rules and the classifier read, the decisions.
CODE_MODULES = ("etl.models.assertion.rules", "etl.models.assertion.data", "etl.models.assertion.model")
log = logging.getLogger(__name__)


def code_fingerprint(source=None) -> str:
    """12 hex digits of the sha256 over CODE_MODULES, each as its name and its source
    (`source(name) -> bytes`, default module_source; etl.models.folder.source_fingerprint)."""
    return model_folder.source_fingerprint(CODE_MODULES, source or module_source)


def runtime_version(files_version: str) -> str:
    """The version of a loaded classifier: the folder's version.txt @ the code fingerprint."""
    return f"{files_version}@{code_fingerprint()}"


class MentionPooling(keras.layers.Layer):
    """Mean of the token vectors where the mention flag (feature channel 0) is set."""

    def call(self, inputs):
        sequence, flags = inputs
        weights = flags[..., :1]
        return tf.reduce_sum(sequence * weights, axis=1) / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)


def build_model(config_path: str | Path, checkpoint: str | Path | None = None, features: int = 1,
                dropout: float = 0.1, keep_tokens: Sequence[int] | None = None):
    """Keras model (token ids, segment ids, token features) -> probabilities [batch, 3]."""
    from etl.models.encoder import build_encoder

    encoder = build_encoder("electra", config_path, checkpoint, token_features=features,
                            keep_tokens=list(keep_tokens) if keep_tokens is not None else None)
    token_ids, segment_ids, flags = encoder.model.inputs
    sequence = encoder.model.output
    cls = keras.layers.Lambda(lambda x: x[:, 0], name="Assertion-CLS")(sequence)
    mention = MentionPooling(name="Assertion-Mention")([sequence, flags])
    x = keras.layers.Concatenate(name="Assertion-Concat")([cls, mention])
    x = keras.layers.Dropout(dropout, name="Assertion-Dropout")(x)
    probs = keras.layers.Dense(len(LABELS), activation="softmax", name="Assertion-Output",
                               kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))(x)
    return keras.Model([token_ids, segment_ids, flags], probs, name="assertion_classifier")


# --------------------------------------------------------------------------- inference
@dataclass(frozen=True)
class Assessment:
    status: str  # PRESENT | ABSENT | POSSIBLE
    score: float  # the classifier's probability of `status` (1.0 when the rules decided alone)
    experiencer: str = "patient"  # patient | family (rules)
    historical: bool = False  # a past finding (rules)
    source: str = "model"  # model | rules




class AssertionClassifier:
    """A trained assertion model folder with its tokenizer, rules and decision.

    `assess(mentions)` batches the mentions by length bucket through one compiled function;
    many mentions at once is the efficient call (the pipeline gathers many documents' mentions).
    """

    VERSIONED_FILES = registry.versioned_files(KIND)  # what the version hashes after weights.h5

    def __init__(self, model, tokenizer, labels: dict, rules, *, batch_size: int = 64, version: str = "",
                 folder: Path | None = None, decision: str | None = None):
        self.model, self.tokenizer, self.labels, self.rules = model, tokenizer, labels, rules
        self.buckets = tuple(labels["buckets"])
        self.batch_size, self.folder = batch_size, folder
        own = labels.get("decision", "model")
        self.decision = decision or own
        if self.decision not in DECISIONS:
            raise ValueError(f"assertion decision must be one of {DECISIONS}, got {self.decision!r}")
        self.version = version if self.decision == own else f"{version}+{self.decision}"
        channels = tuple(labels.get("cue_channels", ()))
        if channels and channels != CUE_CHANNELS:
            raise ConfigError(f"assertion model {folder}: its cue channels {list(channels)} are not this "
                              f"version's {list(CUE_CHANNELS)}; retrain it with `etl train assertion`")
        self.encoder = MentionEncoder(tokenizer, self.buckets[-1], rules if channels else None,
                                      labels.get("left_chars", 64), labels.get("right_chars", 32))
        spec = [tf.TensorSpec([None, None], tf.int32)] * 2 + [
            tf.TensorSpec([None, None, self.encoder.features], tf.float32)]
        # `forward(*inputs)`: the one traced call over prepared inputs (what bench/floor.py times)
        self.forward = tf.function(lambda *inputs: model(list(inputs), training=False), input_signature=spec)
        self.model_calls = 0  # mentions the classifier judged (the rest: rules alone)

    @classmethod
    def load(cls, folder: str | Path, batch_size: int | None = None, decision: str | None = None
             ) -> "AssertionClassifier":
        from etl.models.assertion.rules import ContextRules

        folder = model_folder.check_folder(folder, KIND)
        labels = model_folder.read_json(folder / "labels.json")
        rules = ContextRules.load(folder / RULES_FILE)
        model = build_model(folder / "encoder_config.json", features=1 + len(labels.get("cue_channels", ())))
        model.load_weights(str(folder / "weights.h5"))
        return cls(model, load_tokenizer(folder / "vocab.txt"), labels, rules,
                   batch_size=batch_size or labels.get("batch_size", 64),
                   version=runtime_version(model_folder.read_version(folder)), folder=folder,
                   decision=decision)

    def warm_up(self) -> None:
        """Trace the compiled function once now (its signature has dynamic shapes: one trace serves
        every batch), so the first documents meet a ready model and stage times measure inference.
        A denied mention: the `gated` decision sends it to the classifier too."""
        self.assess([Mention("无预热。", 1, 3)])

    def probabilities(self, mentions: Sequence[Mention]) -> np.ndarray:
        """[len(mentions), 3] class probabilities (LABELS order) from the classifier."""
        return self.probabilities_encoded([self.encoder.encode(m) for m in mentions])

    def probabilities_encoded(self, encoded: Sequence[EncodedMention]) -> np.ndarray:
        out = np.zeros((len(encoded), len(LABELS)), dtype=np.float32)
        for bucket, indices in batches(encoded, self.buckets, self.batch_size):
            items = [encoded[i] for i in indices]
            inputs = make_batch(items, bucket, batch_rows(len(items), self.batch_size), self.encoder.features)
            probs = self.forward(*(tf.constant(x) for x in inputs)).numpy()
            out[indices] = probs[:len(items)]
        self.model_calls += len(encoded)
        return out

    def local(self, mention: Mention) -> Mention:
        """The mention inside its context (data.mention_context): what rules and model both read,
        so a whole note is never scanned once per mention."""
        return Mention(*mention_context(mention.text, mention.start, mention.end, self.encoder.left,
                                        self.encoder.right))

    def cue_near(self, local: Mention) -> bool:
        """A negation or uncertainty cue in the mention's context (what the `gated` decision asks)."""
        return any(m.category in GATE_CATEGORIES for m in self.rules.cue_marks(local.text))

    def assess(self, mentions: Sequence[Mention]) -> list[Assessment]:
        """Status, score, experiencer and historical flag of every mention, by the folder's decision."""
        local = [self.local(m) for m in mentions]
        ruled = [self.rules.assess(m.text, m.start, m.end) for m in local]
        ask = list(range(len(local)))
        if self.decision == "rules":
            ask = []
        elif self.decision == "gated":
            ask = [i for i, m in enumerate(local) if self.cue_near(m)]
        probs = self.probabilities([local[i] for i in ask]) if ask else np.zeros((0, len(LABELS)))
        out = [Assessment(r.status if self.decision == "rules" else PRESENT, 1.0, r.experiencer, r.historical,
                          "rules") for r in ruled]
        for row, i in enumerate(ask):
            k = int(np.argmax(probs[row]))
            out[i] = Assessment(LABELS[k], float(probs[row, k]), ruled[i].experiencer, ruled[i].historical)
        return out


# --------------------------------------------------------------------------- folder
def save_assertion_folder(folder: Path, model, labels: dict, settings_record: dict, metrics: dict) -> str:
    """weights (float16), labels, settings, metrics, version into `folder` (which already holds
    encoder_config.json, vocab.txt and the rules file RULES_FILE); returns the version string."""
    folder = Path(folder)
    model_folder.save_weights_f16(model, folder / "weights.h5")
    model_folder.write_json(folder / "labels.json", {"kind": KIND, "labels": list(LABELS), **labels})
    return model_folder.finish_folder(KIND, folder, settings_record, metrics)
