"""Relation classifier: which of the 44 CMeIE predicates does a window of text hold?

    token ids -> ALBERT encoder -> head -> Dense(44, sigmoid)

Heads (`relation.head`):
- `cls`: the [CLS] vector through the encoder's pooler (Dense + tanh; a pretrained checkpoint
  brings its pooler weights), as in the seeds;
- `pool`: masked max + mean over the token vectors (padding excluded), concatenated;
- `cnn_pool`: a width-3 Conv1D (ReLU) over the token vectors, then the same masked pooling
  (the seeds' BERT + TextCNN head).

With `relation.lexical` (the default), a second branch runs beside the encoder: a linear model
over the text's characters and character bigrams (etl.models.relation.lexical). Each branch has its own
sigmoid output and its own loss during training (they share no weights); the model's output is
w * encoder + (1 - w) * lexical, with w picked on dev after every epoch. From scratch on 2,500
texts the lexical branch carries most of the accuracy (MODELS.md); with a pretrained checkpoint
the dev split decides how much the encoder counts.

The encoder comes from a Google-format checkpoint folder (config json + model.ckpt* + vocab.txt,
e.g. albert_base_zh) or, without one, from `relation.encoder` with random weights. From scratch,
the vocabulary is trimmed to the tokens of the training texts (plus the CMeEE pre-training
sentences, if any; `relation.trim_vocab`): embeddings of tokens never seen in training would stay
random anyway, and the 21,128 x 128 embedding table is most of the model's size. The folder
carries its vocab.txt; characters outside it become [UNK].

Texts are tokenised with bert4keras' Tokenizer and padded to fixed length buckets
(`relation.buckets`). A text longer than the largest bucket is truncated to it (its tail is not
seen): the pipeline cuts notes into windows of `windows.max_chars` characters first, so only an
oversize window is affected.

From scratch, the encoder can first be trained on CMeEE entity tagging (`relation.pretrain_epochs`,
see etl.models.relation.pretrain) before the relation head is trained.

`train_relation` (training.py) writes a self-contained folder (see etl.models.folder) plus `thresholds.json`
(per-predicate decision thresholds tuned on dev); `RelationClassifier.load(folder)` serves it.
`note_thresholds.json`, when the folder has it, holds the decision for the passages of clinical
notes (`etl train relation --tune-notes`): lower thresholds (the span model filters a predicate the
note does not hold, so a threshold tuned for the classifier's own F1 is too strict end to end) and
the least score a note's triple needs (relation probability x span pointers: `note_min_score`,
applied by the pipeline), chosen together end to end.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, get_args

import numpy as np

from etl.compat import K, keras, tf
from etl.config import RelationHead
from etl.errors import ConfigError
from etl.models import folder as model_folder, registry
from etl.models.encoder import build_encoder
from etl.models.relation.lexical import BranchMix, LexicalFeatures, LexicalLogits
from etl.models.tokens import group_by_bucket, load_tokenizer, pad_to, shuffled_batches

KIND = "relation"
HEADS = get_args(RelationHead)  # ("cls", "pool", "cnn_pool"): module docstring
THRESHOLDS_FILE = "thresholds.json"
NOTE_THRESHOLDS_FILE = "note_thresholds.json"  # notes' passages (etl/evaluate_notes.tune_note_thresholds):
# {"thresholds": {predicate: threshold}, "min_triple_score": float, "scale": float (how they were made)}


# --------------------------------------------------------------------------- model
class MaskedMaxMeanPooling(keras.layers.Layer):
    """[token vectors, token ids] -> concat(max, mean) over the non-padding positions."""

    def call(self, inputs):
        x, token_ids = inputs
        mask = K.cast(K.greater(token_ids, 0), x.dtype)[:, :, None]
        mean = K.sum(x * mask, axis=1) / K.maximum(K.sum(mask, axis=1), 1.0)
        maximum = K.max(x - (1.0 - mask) * 1e4, axis=1)  # [CLS]/[SEP] are never padding
        return K.concatenate([maximum, mean], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None


class ZeroPadding(keras.layers.Layer):
    """[token vectors, token ids] -> vectors with padding positions zeroed, Keras mask dropped
    (Conv1D does not accept a mask, and must not read padding as context)."""

    def call(self, inputs):
        x, token_ids = inputs
        return x * K.cast(K.greater(token_ids, 0), x.dtype)[:, :, None]

    def compute_mask(self, inputs, mask=None):
        return None


MIX_LAYER = "Relation-Mix"
MIX_GRID = tuple(i / 10 for i in range(11))  # encoder weights tried on dev after each epoch


def build_relation_model(config_path: str | Path, checkpoint: str | Path | None, head: str,
                         num_labels: int, dropout: float = 0.1, lexical_features: int = 0,
                         lexical_scale: float = 1.0, lexical_l2: float = 0.0):
    """(Keras model [token ids, segment ids(, lexical feature ids)] -> [batch, num_labels]
    probabilities, encoder). `lexical_features` > 0 adds the lexical branch over that many
    features and mixes the two branches' probabilities (see `branch_model`)."""
    if head not in HEADS:
        raise ConfigError(f"relation.head must be one of {HEADS}, got {head!r}")
    encoder = build_encoder("albert", config_path, checkpoint, with_pool=(head == "cls"))
    token_ids = encoder.model.inputs[0]
    x = encoder.model.output
    if head != "cls":
        if head == "cnn_pool":
            x = ZeroPadding(name="Relation-ZeroPadding")([x, token_ids])
            x = keras.layers.Conv1D(K.int_shape(x)[-1], 3, padding="same", activation="relu",
                                    name="Relation-Conv1D")(x)
        x = MaskedMaxMeanPooling(name="Relation-Pooling")([x, token_ids])
    x = keras.layers.Dropout(dropout, name="Relation-Dropout")(x)
    output = keras.layers.Dense(num_labels, activation="sigmoid", name="Relation-Output")(x)
    inputs = list(encoder.model.inputs)
    if lexical_features:
        feature_ids = keras.layers.Input(shape=(None,), dtype="int32", name="Input-Lexical")
        logits = LexicalLogits(lexical_features, num_labels, lexical_scale, lexical_l2,
                               name="Relation-Lexical")(feature_ids)
        lexical = keras.layers.Activation("sigmoid", name="Relation-Lexical-Output")(logits)
        output = BranchMix(name=MIX_LAYER)([output, lexical])
        inputs.append(feature_ids)
    return keras.models.Model(inputs, output, name="relation"), encoder


def branch_model(model):
    """The two branches of a lexical relation model as separate outputs [encoder, lexical]
    (training: one loss each), or None for a model without the lexical branch."""
    if MIX_LAYER not in {layer.name for layer in model.layers}:
        return None
    return keras.models.Model(model.inputs, list(model.get_layer(MIX_LAYER).input), name="relation_branches")


def split_branches(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[n, 2 x labels] outputs of the branch model -> (encoder, lexical) probabilities."""
    labels = probs.shape[1] // 2
    return probs[:, :labels], probs[:, labels:]


def model_inputs(ids: np.ndarray, lexical: LexicalFeatures | None) -> list[np.ndarray]:
    """The model's input arrays for a padded batch of token ids."""
    inputs = [ids, np.zeros_like(ids)]
    if lexical is not None:
        inputs.append(lexical.ids(ids))
    return inputs


# --------------------------------------------------------------------------- data
def encode_texts(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids with [CLS]/[SEP], truncated to `max_length` tokens."""
    return [tokenizer.encode(text, maxlen=max_length)[0] for text in texts]


def label_matrix(labels: Sequence[frozenset], num_labels: int) -> np.ndarray:
    y = np.zeros((len(labels), num_labels), dtype=np.float32)
    for row, ids in enumerate(labels):
        y[row, list(ids)] = 1.0
    return y


class BucketBatches(keras.utils.Sequence):
    """Training batches of one length bucket each, reshuffled every epoch (seeded).

    The batch shapes are (<= batch_size, bucket) for a fixed set of buckets, so the compiled
    training step sees a handful of shapes instead of one per text length.

    With `token_dropout` > 0, each ordinary token is replaced by [UNK] with that probability,
    drawn anew every time a batch is built: a regulariser for a from-scratch encoder that
    otherwise memorises 2,500 texts in a few epochs, and practice for characters outside the vocab.
    """

    def __init__(self, token_ids: list[list[int]], y: np.ndarray, buckets: Sequence[int],
                 batch_size: int, seed: int = 0, token_dropout: float = 0.0, unk_id: int = 100,
                 lexical: LexicalFeatures | None = None, outputs: int = 1):
        super().__init__()
        self.token_ids, self.y = token_ids, y
        self.lexical, self.outputs = lexical, outputs  # outputs: the labels repeat for each model output
        self.buckets, self.batch_size = tuple(buckets), batch_size
        self.token_dropout, self.unk_id = token_dropout, unk_id
        self.rng = np.random.default_rng(seed)
        self.lengths = [len(ids) for ids in token_ids]
        self.on_epoch_end()

    def on_epoch_end(self):
        self.batches = shuffled_batches(self.lengths, self.buckets, self.batch_size, self.rng)

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        bucket, rows = self.batches[index]
        ids = pad_to([self.token_ids[i] for i in rows], bucket)
        if self.token_dropout > 0:
            inner = np.zeros_like(ids, dtype=bool)  # ordinary tokens: not padding, [CLS] or [SEP]
            for row, i in enumerate(rows):
                inner[row, 1:min(len(self.token_ids[i]), bucket) - 1] = True
            ids = np.where(inner & (self.rng.random(ids.shape) < self.token_dropout), self.unk_id, ids)
        y = self.y[rows]
        return model_inputs(ids, self.lexical), (y if self.outputs == 1 else (y,) * self.outputs)


# --------------------------------------------------------------------------- prediction
class Predictor:
    """Batched, bucketed inference through one compiled function (no per-text model.predict).
    `forward(*inputs)` is that function over prepared inputs (model_inputs): what the benches time."""

    def __init__(self, model, tokenizer, buckets: Sequence[int], batch_size: int,
                 lexical: LexicalFeatures | None = None):
        self.model, self.tokenizer, self.lexical = model, tokenizer, lexical
        self.buckets, self.batch_size = tuple(buckets), batch_size
        specs = [tf.TensorSpec([None, None], tf.int32)] * len(model.inputs)
        # One trace serves every bucket and batch size: the shapes are dynamic in the signature,
        # and the fixed buckets keep padding waste small. A multi-output model (the branches)
        # gives its outputs side by side.
        if len(model.outputs) > 1:
            self.forward = tf.function(lambda *inputs: tf.concat(model(list(inputs), training=False), axis=-1),
                                     input_signature=specs)
        else:
            self.forward = tf.function(lambda *inputs: model(list(inputs), training=False), input_signature=specs)
        self.width = sum(int(output.shape[-1]) for output in model.outputs)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return encode_texts(self.tokenizer, texts, self.buckets[-1])

    def probabilities_from_ids(self, token_ids: list[list[int]]) -> np.ndarray:
        out = np.zeros((len(token_ids), self.width), dtype=np.float32)
        batches = group_by_bucket([len(ids) for ids in token_ids], self.buckets, self.batch_size)
        for bucket, rows in batches:
            ids = pad_to([token_ids[i] for i in rows], bucket)
            out[rows] = self.forward(*map(tf.constant, model_inputs(ids, self.lexical))).numpy()
        return out

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return self.probabilities_from_ids(self.token_ids(texts))


class RelationClassifier:
    """A trained relation model folder, loaded once; thread-compatible for read-only use.

        clf = RelationClassifier.load("models/relation")
        clf.probabilities(["..."])  # [{predicate: probability} over all 44 predicates]
        clf.predict(["..."])        # [{predicate: probability} above each tuned threshold]
    """

    VERSIONED_FILES = registry.versioned_files(KIND)  # what the version hashes after weights.h5

    def __init__(self, model, tokenizer, labels: Sequence[str], thresholds: np.ndarray,
                 buckets: Sequence[int], batch_size: int, version: str = "", folder: Path | None = None,
                 lexical: LexicalFeatures | None = None, note_thresholds: np.ndarray | None = None,
                 note_min_score: float = 0.0):
        self.model = model
        self.labels = tuple(labels)
        self.thresholds = np.asarray(thresholds, dtype=np.float32)
        # a note's passage (`X@window`, etl/notes/conditions.py) is decided at these; None: at `thresholds`
        self.note_thresholds = None if note_thresholds is None else np.asarray(note_thresholds, dtype=np.float32)
        self.note_min_score = note_min_score  # a note's triple below this score is dropped (the pipeline's merge)
        self.version, self.folder = version, folder
        self.predictor = Predictor(model, tokenizer, buckets, batch_size, lexical)

    @classmethod
    def load(cls, folder: str | Path, buckets: Sequence[int] | None = None,
             batch_size: int | None = None, threshold: float = 0.5) -> "RelationClassifier":
        """Load a folder written by `etl train relation`. Buckets / batch size default to the
        training ones; `threshold` is used only for predicates the folder has no threshold for."""
        folder = model_folder.check_folder(folder, KIND)
        meta = model_folder.read_json(folder / "labels.json")
        tokenizer = load_tokenizer(folder / "vocab.txt")
        lexical = None
        if meta.get("lexical"):
            lexical = LexicalFeatures.load(folder, tokenizer._vocab_size)
        model, _ = build_relation_model(folder / "encoder_config.json", None, meta["head"],
                                        len(meta["labels"]), lexical_features=lexical.size if lexical else 0,
                                        lexical_scale=meta.get("lexical_scale", 1.0))
        model.load_weights(str(folder / "weights.h5"))
        tuned = {}
        if (folder / THRESHOLDS_FILE).is_file():
            tuned = model_folder.read_json(folder / THRESHOLDS_FILE)
        thresholds = [tuned.get(label, threshold) for label in meta["labels"]]
        note_thresholds, note_min_score = None, 0.0
        if (folder / NOTE_THRESHOLDS_FILE).is_file():
            for_notes = model_folder.read_json(folder / NOTE_THRESHOLDS_FILE)
            note_thresholds = [for_notes["thresholds"].get(label, t) for label, t in zip(meta["labels"], thresholds)]
            note_min_score = float(for_notes.get("min_triple_score", 0.0))
        buckets = tuple(buckets or meta.get("buckets") or (64, 128, 256))
        max_position = model_folder.read_json(folder / "encoder_config.json").get("max_position_embeddings", 512)
        if buckets[-1] > max_position:
            raise ConfigError(f"largest bucket {buckets[-1]} exceeds the encoder's {max_position} positions")
        return cls(model, tokenizer, meta["labels"], thresholds,
                   buckets, batch_size or meta.get("batch_size", 32),
                   model_folder.read_version(folder), folder, lexical, note_thresholds, note_min_score)

    def warm_up(self) -> None:
        """Trace the compiled function once now (its signature has dynamic shapes: one trace serves
        every batch), so the first documents meet a ready model and stage times measure inference."""
        self.predict(["预热"])

    @property
    def buckets(self) -> tuple[int, ...]:
        return self.predictor.buckets

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids for `texts` (pure Python: the pipeline runs it on its reader thread)."""
        return self.predictor.token_ids(list(texts))

    def probability_matrix(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), labels] float32 probabilities, rows in input order."""
        return self.predictor(list(texts))

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """{predicate: probability} over all predicates, one dict per text."""
        return [dict(zip(self.labels, map(float, row))) for row in self.probability_matrix(texts)]

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """{predicate: probability} for the predicates at or above their threshold."""
        return self.predict_encoded(self.encode(texts))

    def predict_encoded(self, token_ids: list[list[int]],
                        notes: Sequence[bool] | None = None) -> list[dict[str, float]]:
        """`predict` for texts already encoded with `encode`; `notes[i]`: text i is a note's
        passage (decided at the note thresholds, when the folder has them)."""
        return self.decide(self.probabilities_encoded(token_ids), notes)

    def probabilities_encoded(self, token_ids: list[list[int]]) -> np.ndarray:
        """[len(token_ids), labels] probabilities for texts already encoded with `encode`."""
        return self.predictor.probabilities_from_ids(token_ids)

    def decide(self, probabilities: np.ndarray, notes: Sequence[bool] | None = None) -> list[dict[str, float]]:
        """{predicate: probability} at or above the threshold of each row's register."""
        notes = notes if notes is not None and self.note_thresholds is not None else [False] * len(probabilities)
        result = []
        for row, note in zip(probabilities, notes):
            hits = np.flatnonzero(row >= (self.note_thresholds if note else self.thresholds))
            result.append({self.labels[i]: float(row[i]) for i in hits})
        return result


def save_relation_folder(folder: Path, model, labels: Sequence[str], head: str, buckets: Sequence[int],
                         batch_size: int, thresholds: Sequence[float], settings_record: dict,
                         metrics: dict, lexical: LexicalFeatures | None = None,
                         lexical_scale: float = 1.0) -> str:
    """Write weights, labels, thresholds, settings, metrics and version into `folder` (which
    already holds encoder_config.json and vocab.txt; plus bigrams.txt with a lexical branch);
    returns the version string."""
    folder = Path(folder)
    model.save_weights(str(folder / "weights.h5"), save_format="h5")
    if lexical is not None:
        lexical.save(folder)
    model_folder.write_json(folder / "labels.json", {
        "task": KIND, "encoder": "albert", "head": head, "labels": list(labels),
        "buckets": list(buckets), "batch_size": batch_size,
        "lexical": lexical is not None, "lexical_scale": lexical_scale})
    model_folder.write_json(folder / THRESHOLDS_FILE,
                            {label: round(float(t), 4) for label, t in zip(labels, thresholds)})
    return model_folder.finish_folder(KIND, folder, settings_record, metrics)


def save_note_thresholds(folder: Path, classifier: RelationClassifier, scale: float, min_triple_score: float,
                         measured: dict) -> str:
    """Write `note_thresholds.json` (the folder's thresholds times `scale`, and `min_triple_score`)
    into a trained folder, record `measured` (how they were chosen) in metrics.json under
    "note_thresholds", and re-version the folder (the notes' triples change). Returns the new version."""
    folder = Path(folder)
    model_folder.write_json(folder / NOTE_THRESHOLDS_FILE, {
        "scale": scale, "min_triple_score": min_triple_score,
        "thresholds": {label: round(float(t) * scale, 4)
                       for label, t in zip(classifier.labels, classifier.thresholds)}})
    metrics = dict(model_folder.read_json(folder / "metrics.json"),
                   note_thresholds=dict(measured, scale=scale, min_triple_score=min_triple_score))
    version = model_folder.folder_version(KIND, folder)
    (folder / "version.txt").write_text(version + "\n", encoding="utf-8")
    model_folder.write_json(folder / "metrics.json", dict(metrics, version=version))
    return version
