"""Relation classifier: which of the 44 CMeIE predicates does a window of text hold?

    token ids -> ALBERT encoder -> head -> Dense(44, sigmoid)

Heads (`relation.head`):
- `cls`: the [CLS] vector through the encoder's pooler (Dense + tanh; a pretrained checkpoint
  brings its pooler weights), as in the seeds;
- `pool`: masked max + mean over the token vectors (padding excluded), concatenated;
- `cnn_pool`: a width-3 Conv1D (ReLU) over the token vectors, then the same masked pooling
  (the seeds' BERT + TextCNN head).

With `relation.lexical` (the default), a second branch runs beside the encoder: a linear model
over the text's characters and character bigrams (etl.models.lexical). Each branch has its own
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
see etl.models.relation_pretrain) before the relation head is trained.

`train_relation` writes a self-contained folder (see etl.models.folder) plus `thresholds.json`
(per-predicate decision thresholds tuned on dev); `RelationClassifier.load(folder)` serves it.
"""
from __future__ import annotations

import math
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from etl.compat import K, keras, tf
from etl.errors import ConfigError
from etl.models import folder as model_folder
from etl.models.encoder import build_encoder, stage_encoder
from etl.models.lexical import BranchMix, LexicalFeatures, LexicalLogits
from etl.models.losses import make_loss
from etl.models.thresholds import (best_global_threshold, crossfit_metrics, multilabel_metrics,
                                   tune_thresholds)
from etl.models.tokens import group_by_bucket, load_tokenizer, pad_to, shuffled_batches
from etl.models.training import make_optimizer

KIND = "relation"
HEADS = ("cls", "pool", "cnn_pool")
THRESHOLDS_FILE = "thresholds.json"


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
class _Predictor:
    """Batched, bucketed inference through one compiled function (no per-text model.predict)."""

    def __init__(self, model, tokenizer, buckets: Sequence[int], batch_size: int,
                 lexical: LexicalFeatures | None = None):
        self.model, self.tokenizer, self.lexical = model, tokenizer, lexical
        self.buckets, self.batch_size = tuple(buckets), batch_size
        specs = [tf.TensorSpec([None, None], tf.int32)] * len(model.inputs)
        # One trace serves every bucket and batch size: the shapes are dynamic in the signature,
        # and the fixed buckets keep padding waste small. A multi-output model (the branches)
        # gives its outputs side by side.
        if len(model.outputs) > 1:
            self._call = tf.function(lambda *inputs: tf.concat(model(list(inputs), training=False), axis=-1),
                                     input_signature=specs)
        else:
            self._call = tf.function(lambda *inputs: model(list(inputs), training=False), input_signature=specs)
        self.width = sum(int(output.shape[-1]) for output in model.outputs)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return encode_texts(self.tokenizer, texts, self.buckets[-1])

    def probabilities_from_ids(self, token_ids: list[list[int]]) -> np.ndarray:
        out = np.zeros((len(token_ids), self.width), dtype=np.float32)
        batches = group_by_bucket([len(ids) for ids in token_ids], self.buckets, self.batch_size)
        for bucket, rows in batches:
            ids = pad_to([token_ids[i] for i in rows], bucket)
            out[rows] = self._call(*map(tf.constant, model_inputs(ids, self.lexical))).numpy()
        return out

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return self.probabilities_from_ids(self.token_ids(texts))


class RelationClassifier:
    """A trained relation model folder, loaded once; thread-compatible for read-only use.

        clf = RelationClassifier.load("models/relation")
        clf.probabilities(["..."])  # [{predicate: probability} over all 44 predicates]
        clf.predict(["..."])        # [{predicate: probability} above each tuned threshold]
    """

    def __init__(self, model, tokenizer, labels: Sequence[str], thresholds: np.ndarray,
                 buckets: Sequence[int], batch_size: int, version: str = "", folder: Path | None = None,
                 lexical: LexicalFeatures | None = None):
        self.model = model
        self.labels = tuple(labels)
        self.thresholds = np.asarray(thresholds, dtype=np.float32)
        self.version, self.folder = version, folder
        self._predictor = _Predictor(model, tokenizer, buckets, batch_size, lexical)

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
        buckets = tuple(buckets or meta.get("buckets") or (64, 128, 256))
        max_position = model_folder.read_json(folder / "encoder_config.json").get("max_position_embeddings", 512)
        if buckets[-1] > max_position:
            raise ConfigError(f"largest bucket {buckets[-1]} exceeds the encoder's {max_position} positions")
        return cls(model, tokenizer, meta["labels"], thresholds,
                   buckets, batch_size or meta.get("batch_size", 32),
                   model_folder.read_version(folder), folder, lexical)

    @property
    def buckets(self) -> tuple[int, ...]:
        return self._predictor.buckets

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids for `texts` (pure Python: the pipeline runs it on its reader thread)."""
        return self._predictor.token_ids(list(texts))

    def probability_matrix(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), labels] float32 probabilities, rows in input order."""
        return self._predictor(list(texts))

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """{predicate: probability} over all predicates, one dict per text."""
        return [dict(zip(self.labels, map(float, row))) for row in self.probability_matrix(texts)]

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """{predicate: probability} for the predicates at or above their threshold."""
        return self.predict_encoded(self.encode(texts))

    def predict_encoded(self, token_ids: list[list[int]]) -> list[dict[str, float]]:
        """`predict` for texts already encoded with `encode`."""
        result = []
        for row in self._predictor.probabilities_from_ids(token_ids):
            hits = np.flatnonzero(row >= self.thresholds)
            result.append({self.labels[i]: float(row[i]) for i in hits})
        return result


# --------------------------------------------------------------------------- training
def dev_report(y_true: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> dict:
    """Figures at a fixed threshold and at the best single threshold (selection metric)."""
    best = best_global_threshold(y_true, probs)
    return {"fixed": multilabel_metrics(y_true, probs >= threshold), "best_threshold": best,
            "best": multilabel_metrics(y_true, probs >= best)}


def _line(name: str, m: dict) -> str:
    mi, ma = m["micro"], m["macro"]
    return (f"{name} micro F1 {mi['f1']:.4f} P {mi['precision']:.4f} R {mi['recall']:.4f} | "
            f"macro F1 {ma['f1']:.4f} P {ma['precision']:.4f} R {ma['recall']:.4f}")


def choose_mix(y_true: np.ndarray, encoder: np.ndarray, lexical: np.ndarray) -> tuple[float, dict]:
    """The encoder weight w of MIX_GRID whose mix w * encoder + (1 - w) * lexical has the best
    micro-F1 at its best single threshold (ties: the first, i.e. the lower w), and every w's score."""

    def score(p):
        return multilabel_metrics(y_true, p >= best_global_threshold(y_true, p))["micro"]["f1"]

    scores = {w: score(w * encoder + (1 - w) * lexical) for w in MIX_GRID}
    return max(scores, key=scores.get), scores


def crossfit_mix(y_true: np.ndarray, encoder: np.ndarray, lexical: np.ndarray, min_support: int,
                 seed: int = 0) -> dict:
    """Honest figures for the whole dev-tuned decision rule of a lexical model: choose the mix
    weight and tune the thresholds on one half of dev, decide the other half, swap (as
    `crossfit_metrics` does for the thresholds alone)."""
    y_true = np.asarray(y_true, bool)
    order = np.random.default_rng(seed).permutation(len(y_true))
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    decisions = np.zeros_like(y_true)
    for tune, apply in (halves, halves[::-1]):
        w, _ = choose_mix(y_true[tune], encoder[tune], lexical[tune])
        thresholds = tune_thresholds(y_true[tune], w * encoder[tune] + (1 - w) * lexical[tune],
                                     max(1, min_support // 2))
        decisions[apply] = w * encoder[apply] + (1 - w) * lexical[apply] >= thresholds
    return multilabel_metrics(y_true, decisions)


class DevEvaluation(keras.callbacks.Callback):
    """After each epoch: dev micro/macro P/R/F1, printed; keeps the best epoch's weights.

    The best epoch is the one with the highest dev micro-F1 at its best single threshold, so
    losses whose probabilities sit lower (focal, weighted) are not judged at an arbitrary 0.5.

    With the lexical branch (`mix` = the model's BranchMix layer, `predictor` over the branch
    model), the encoder weight w of the mix is chosen here too: the w of MIX_GRID whose mixed
    probabilities score best; each branch's own figure is logged beside it.
    """

    def __init__(self, predictor: _Predictor, token_ids, y_true: np.ndarray, threshold: float,
                 log: Callable[[str], None], mix: BranchMix | None = None):
        super().__init__()
        self.predictor, self.token_ids, self.y_true = predictor, token_ids, y_true
        self.threshold, self.log, self.mix = threshold, log, mix
        self.best_score, self.best_epoch, self.best_weights, self.best_mix = -1.0, 0, None, None
        self.history: list[dict] = []

    def _mixed(self, probs: np.ndarray) -> tuple[np.ndarray, dict]:
        """Branch probabilities side by side -> (mixed probabilities at the best w, figures)."""
        encoder, lexical = split_branches(probs)
        weight, scores = choose_mix(self.y_true, encoder, lexical)
        self.mix.encoder_weight.assign(weight)
        figures = {"encoder_weight": weight, "encoder_alone": scores[1.0], "lexical_alone": scores[0.0]}
        return weight * encoder + (1 - weight) * lexical, figures

    def on_epoch_end(self, epoch, logs=None):
        probs = self.predictor.probabilities_from_ids(self.token_ids)
        figures = {}
        if self.mix is not None:
            probs, figures = self._mixed(probs)
        report = dev_report(self.y_true, probs, self.threshold)
        score = report["best"]["micro"]["f1"]
        self.history.append({"epoch": epoch + 1, "loss": float((logs or {}).get("loss", math.nan)),
                             "dev_micro_f1": report["fixed"]["micro"]["f1"],
                             "dev_micro_f1_best_threshold": score,
                             "best_threshold": report["best_threshold"], **figures})
        if figures:
            self.log(f"epoch {epoch + 1}: dev micro F1 encoder alone {figures['encoder_alone']:.4f}, "
                     f"lexical alone {figures['lexical_alone']:.4f}, mixed with encoder weight "
                     f"{figures['encoder_weight']:g}")
        mark = ""
        if score > self.best_score:
            self.best_score, self.best_epoch = score, epoch + 1
            self.best_weights = self.model.get_weights()
            self.best_mix = figures.get("encoder_weight")
            mark = "  *best"
        best_name = "@%g" % report["best_threshold"]
        self.log(f"epoch {epoch + 1}: dev {_line('@%g' % self.threshold, report['fixed'])}")
        self.log(f"epoch {epoch + 1}: dev {_line(best_name, report['best'])}{mark}")

    def restore_best(self):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        if self.best_mix is not None:
            self.mix.encoder_weight.assign(self.best_mix)


def train_relation(settings, out: str | Path, log: Callable[[str], None] = print,
                   verbose: int | None = None) -> dict:
    """Train on the project's CMeIE split and write the model folder `out`; returns metrics.

    The folder is built beside `out` (`<out>.partial`) and moved into place at the end, so an
    interrupted run never leaves a half-written model where the pipeline looks for one.
    """
    from etl.config import as_dict
    from etl.data.examples import relation_examples
    from etl.data.split import load_split
    from etl.schema import load_schema

    rel = settings.relation
    out = Path(out)
    keras.utils.set_random_seed(rel.seed)
    schema = load_schema()
    labels = schema.predicate_names
    train_samples, dev_samples = load_split(settings)
    if rel.max_train_samples:
        train_samples = train_samples[: rel.max_train_samples]
    train = relation_examples(train_samples, schema)
    dev = relation_examples(dev_samples, schema)

    pretrain_samples = []
    if rel.pretrain_epochs and not rel.encoder_checkpoint:  # a checkpoint is already pretrained
        from etl.models.relation_pretrain import cmeee_pretraining_samples

        pretrain_samples = cmeee_pretraining_samples(settings.data.cmeee_train, [e.text for e in dev],
                                                     rel.pretrain_max_samples)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2  # progress bar on a terminal, one line per epoch in logs

    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    checkpoint = stage_encoder("relation", settings.relation, settings.data.vocab,
                               [e.text for e in train] + [s.text for s in pretrain_samples], staging)
    tokenizer = load_tokenizer(staging / "vocab.txt")
    max_length = rel.buckets[-1]
    train_ids = encode_texts(tokenizer, [e.text for e in train], max_length)
    dev_ids = encode_texts(tokenizer, [e.text for e in dev], max_length)
    lexical = None
    if rel.lexical:
        lexical = LexicalFeatures.build(train_ids, tokenizer._vocab_size, rel.bigram_min_count)
    model, encoder = build_relation_model(staging / "encoder_config.json", checkpoint, rel.head, len(labels),
                                          rel.head_dropout, lexical_features=lexical.size if lexical else 0,
                                          lexical_scale=rel.lexical_scale, lexical_l2=rel.lexical_l2)
    branches = branch_model(model)  # None without the lexical branch
    trained = branches or model
    pretrain_seconds, pretraining = 0.0, None
    if pretrain_samples:
        from etl.models.relation_pretrain import pretrain_encoder

        sequence = encoder.model.get_layer("Pooler").input if rel.head == "cls" else encoder.model.output
        started = time.perf_counter()
        pretraining = pretrain_encoder(encoder, sequence, tokenizer, pretrain_samples, rel, log, verbose)
        pretrain_seconds = time.perf_counter() - started

    y_train = label_matrix([e.labels for e in train], len(labels))
    y_dev = label_matrix([e.labels for e in dev], len(labels))
    counts = y_train.sum(0)

    batches = BucketBatches(train_ids, y_train, rel.buckets, rel.batch_size, rel.seed,
                            rel.token_dropout, tokenizer.token_to_id("[UNK]"), lexical, len(trained.outputs))
    total_steps = len(batches) * rel.epochs
    loss = make_loss(rel.loss, counts, len(train), rel.focal_gamma, rel.focal_alpha)
    # with the lexical branch: one loss per branch (they share no weights, so each learns alone)
    trained.compile(optimizer=make_optimizer(rel.learning_rate, total_steps, rel.warmup_ratio, rel.clip_norm),
                    loss=[loss] * len(trained.outputs))
    predictor = _Predictor(model, tokenizer, rel.buckets, max(rel.batch_size, 64), lexical)
    evaluation = DevEvaluation(_Predictor(trained, tokenizer, rel.buckets, max(rel.batch_size, 64), lexical),
                               dev_ids, y_dev, rel.threshold, log,
                               model.get_layer(MIX_LAYER) if branches is not None else None)

    log(f"relation: {len(train)} train / {len(dev)} dev texts, {len(labels)} predicates, "
        f"head {rel.head}, loss {rel.loss}, {rel.epochs} epochs x {len(batches)} batches, "
        f"{model.count_params():,} parameters, encoder {'checkpoint ' + str(checkpoint) if checkpoint else 'from scratch'}"
        + (f", lexical branch over {lexical.size:,} characters and bigrams" if lexical else ""))
    started = time.perf_counter()
    trained.fit(batches, epochs=rel.epochs, shuffle=False, callbacks=[evaluation], verbose=verbose)
    train_seconds = time.perf_counter() - started
    evaluation.restore_best()

    probs = predictor.probabilities_from_ids(dev_ids)
    report = dev_report(y_dev, probs, rel.threshold)
    mix_crossfit = None
    if branches is not None:
        mix_crossfit = crossfit_mix(y_dev, *split_branches(evaluation.predictor.probabilities_from_ids(dev_ids)),
                                    rel.threshold_min_support)
    thresholds = tune_thresholds(y_dev, probs, rel.threshold_min_support)
    metrics = {
        "dev_texts": len(dev), "train_texts": len(train),
        "best_epoch": evaluation.best_epoch, "epochs": rel.epochs,
        f"dev_at_{rel.threshold:g}": report["fixed"],
        "dev_best_global_threshold": {"threshold": report["best_threshold"], **report["best"]},
        "dev_tuned_thresholds_in_sample": multilabel_metrics(y_dev, probs >= thresholds),
        "dev_tuned_thresholds_crossfit": crossfit_metrics(y_dev, probs, rel.threshold_min_support),
        # lexical branch: the mix weight chosen on the tuning half too (the whole rule cross-fitted)
        "dev_mix_and_thresholds_crossfit": mix_crossfit,
        "pretraining": pretraining,
        "pretrain_seconds": round(pretrain_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(pretrain_seconds + train_seconds, 1),
        "parameters": int(model.count_params()),
        "lexical_features": lexical.size if lexical else 0,
        "encoder_weight": evaluation.best_mix,
        "history": evaluation.history,
    }
    log(f"best epoch {evaluation.best_epoch}: dev {_line('@%g' % rel.threshold, report['fixed'])}")
    log(f"tuned thresholds (cross-fit on dev): {_line('', metrics['dev_tuned_thresholds_crossfit'])}")
    if mix_crossfit is not None:
        log(f"mix weight + thresholds (cross-fit on dev): {_line('', mix_crossfit)}")

    settings_record = {"relation": as_dict(settings)["relation"], "data": as_dict(settings)["data"],
                       "label_counts": {label: int(c) for label, c in zip(labels, counts)}}
    version = save_relation_folder(staging, model, labels, rel.head, rel.buckets, rel.batch_size,
                                   thresholds, settings_record, metrics, lexical, rel.lexical_scale)
    metrics["version"] = version

    model_folder.replace_folder(staging, out)
    size = sum(p.stat().st_size for p in out.iterdir())
    log(f"wrote {out} ({size / 1e6:.1f} MB, version {version}, "
        f"trained in {(pretrain_seconds + train_seconds) / 60:.1f} min)")
    return metrics


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
    model_folder.write_json(folder / "settings.json", settings_record)
    version = model_folder.folder_version(KIND, folder)
    (folder / "version.txt").write_text(version + "\n", encoding="utf-8")
    metrics = dict(metrics, version=version)
    metrics["folder_bytes"] = sum(p.stat().st_size for p in folder.iterdir() if p.name != "metrics.json")
    model_folder.write_json(folder / "metrics.json", metrics)
    return version
