"""Masked-language-model pretraining of a small ALBERT or ELECTRA-layout encoder (bert4keras).

The output folder is a Google-format checkpoint folder (config json, model.ckpt, vocab.txt) that
`etl train relation|spans --encoder-checkpoint DIR` and `build_transformer_model(config, ckpt,
model=...)` load unchanged, plus `metrics.json` and a `resume/` subfolder (model + optimizer
state, tf.train.Checkpoint) that `--resume` continues from.

- Vocabulary: the Chinese BERT vocab trimmed to the tokens the corpus uses (`trim_vocab`), so no
  embedding row is dead weight; it stays a valid BERT vocab and the folder carries it.
- Masking: 15% of *whole characters / words* (a WordPiece token and its `##` continuations are
  masked together), 80% [MASK], 10% a random token, 10% unchanged; loss on those positions only.
- The MLM head (dense + layer norm + the tied token embeddings + bias, BERT's shape) runs only
  on the masked positions (`build_mlm_model`), the same for ALBERT and ELECTRA (bert4keras' ELECTRA
  has none). Only the encoder variables are exported: the consuming models never use the head, and
  an encoder checkpoint without one is exactly what `build_transformer_model` loads.
- Data order and masks depend only on (seed, step), so a resumed run sees what an uninterrupted
  one would have seen; the learning-rate schedule follows the restored optimizer step.
- Continued pretraining (`init_checkpoint`, `etl pretrain mlm --init-checkpoint DIR`): a new run
  that starts from an exported encoder folder's weights, with its vocab and config unchanged (so
  every model trained on the old encoder's vocab still fits), a fresh optimizer and schedule, and
  a new MLM head (the folder keeps none). How the shipped encoder was taken further on text of
  the notes' register (issue 27).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from etl.compat import keras, tf
from etl.errors import ConfigError
from etl.models.encoder import MODEL_TYPES, build_encoder, export_checkpoint_folder, scratch_config
from etl.models.tokens import load_tokenizer, trim_vocab
from etl.models.training import make_optimizer
from etl.pretrain.corpus import read_corpus

CONFIG_NAMES = {"albert": "albert_config.json", "electra": "electra_config.json"}
PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"


@dataclass(frozen=True)
class MlmOptions:
    steps: int = 20_000  # total optimizer steps (a resumed run continues up to this)
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_ratio: float = 0.05
    clip_norm: float = 1.0
    buckets: tuple[int, ...] = (32, 64, 128)  # token lengths; lines are cut to the largest
    mask_rate: float = 0.15
    save_every: int = 500  # steps between checkpoints (and exports)
    heldout_every: int = 100  # every Nth corpus line is held out for the MLM metrics ...
    heldout_max: int = 1000  # ... up to this many lines
    seed: int = 42


# --------------------------------------------------------------------------- data
@dataclass
class Encoded:
    ids: list[np.ndarray]  # token ids with [CLS]/[SEP]
    starts: list[np.ndarray]  # True where a token starts a character/word (not a ## piece)


def encode_lines(tokenizer, lines: Sequence[str], max_length: int) -> Encoded:
    ids, starts = [], []
    for line in lines:
        tokens = tokenizer.tokenize(line, maxlen=max_length)
        ids.append(np.asarray(tokenizer.tokens_to_ids(tokens), dtype=np.int32))
        starts.append(np.asarray([not t.startswith("##") for t in tokens], dtype=bool))
    return Encoded(ids, starts)


def mask_row(ids: np.ndarray, starts: np.ndarray, rng: np.random.Generator, rate: float,
             mask_id: int, first_normal: int, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(input ids, targets) for one row: whole words masked; targets 0 where nothing is predicted."""
    inputs, targets = ids.copy(), np.zeros_like(ids)
    word = np.cumsum(starts) - 1  # word index of every token ([CLS] is word 0, [SEP] the last)
    n_words = int(word[-1]) + 1
    inner = np.arange(1, n_words - 1)  # never the [CLS] / [SEP] words
    if not len(inner):
        return inputs, targets
    chosen = inner[rng.random(len(inner)) < rate]
    if not len(chosen):
        chosen = rng.choice(inner, 1)
    for w in chosen:
        positions = np.flatnonzero(word == w)
        targets[positions] = ids[positions]
        roll = rng.random()
        if roll < 0.8:
            inputs[positions] = mask_id
        elif roll < 0.9:
            inputs[positions] = rng.integers(first_normal, vocab_size, len(positions))
    return inputs, targets


class MaskedBatches:
    """Batches of one bucket length each, chosen and masked from (seed, step) alone."""

    def __init__(self, data: Encoded, opts: MlmOptions, mask_id: int, first_normal: int, vocab_size: int):
        self.data, self.opts = data, opts
        self.mask_args = (opts.mask_rate, mask_id, first_normal, vocab_size)
        lengths = np.asarray([len(i) for i in data.ids])
        edges = np.asarray(opts.buckets)
        self.bucket_of = np.minimum(np.searchsorted(edges, lengths), len(edges) - 1)
        self.members = [np.flatnonzero(self.bucket_of == b) for b in range(len(edges))]
        self.weights = np.asarray([len(m) for m in self.members], dtype=float)
        self.weights /= self.weights.sum()

    def batch(self, rows: Sequence[int], bucket: int, rng: np.random.Generator):
        length = self.opts.buckets[bucket]
        inputs = np.zeros((len(rows), length), dtype=np.int32)
        targets = np.zeros_like(inputs)
        for r, i in enumerate(rows):
            x, y = mask_row(self.data.ids[i], self.data.starts[i], rng, *self.mask_args)
            inputs[r, : len(x)], targets[r, : len(y)] = x, y
        return inputs, targets

    def for_step(self, step: int):
        rng = np.random.default_rng([self.opts.seed, step])
        bucket = int(rng.choice(len(self.weights), p=self.weights))
        rows = rng.choice(self.members[bucket], self.opts.batch_size)
        return self.batch(rows, bucket, rng)

    def all_batches(self, seed: int):
        """Every row once, fixed masks (held-out evaluation)."""
        rng = np.random.default_rng(seed)
        for bucket, members in enumerate(self.members):
            for start in range(0, len(members), self.opts.batch_size):
                yield self.batch(members[start:start + self.opts.batch_size], bucket, rng)


# --------------------------------------------------------------------------- model
def build_mlm_model(model_type: str, config_path, checkpoint=None):
    """(Keras model [token ids, segment ids, positions] -> [positions, vocab] logits, encoder).

    `positions` ([n, 2]: row, column) are the masked tokens: the head runs on those alone. With a
    7k-token vocab the output layer costs more than a small encoder, so predicting at the 15% of
    positions that carry a loss (instead of all of them) made a step 3x faster here (MODELS.md).
    """
    from bert4keras.layers import ScaleOffset

    encoder = build_encoder(model_type, config_path, checkpoint)
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    positions = keras.layers.Input(shape=(2,), dtype="int32", name="Pretrain-MLM-Positions")
    x = keras.layers.Lambda(lambda t: tf.gather_nd(t[0], t[1]), name="Pretrain-MLM-Gather")(
        [encoder.model.output, positions])
    x = keras.layers.Dense(config.get("embedding_size") or config["hidden_size"], activation="gelu",
                           name="Pretrain-MLM-Dense")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-12, name="Pretrain-MLM-Norm")(x)
    x = encoder.layers["Embedding-Token"](x, mode="dense")  # tied to the input embeddings
    x = ScaleOffset(scale=False, name="Pretrain-MLM-Bias")(x)
    return keras.models.Model(encoder.model.inputs + [positions], x, name=f"{model_type}_mlm"), encoder


def masked_positions(targets):
    """[n, 2] (row, column) of the positions with a target (> 0)."""
    return tf.cast(tf.where(targets > 0), tf.int32)


def masked_loss_accuracy(model, inputs, targets, training: bool):
    """Mean cross-entropy, accuracy and count over the predicted (target > 0) positions."""
    positions = masked_positions(targets)
    logits = model([inputs, tf.zeros_like(inputs), positions], training=training)
    labels = tf.gather_nd(targets, positions)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    hits = tf.cast(tf.equal(tf.cast(tf.argmax(logits, -1), labels.dtype), labels), logits.dtype)
    count = tf.shape(labels)[0]
    if not training and count == 0:
        return 0.0, 0.0, 0
    return tf.reduce_mean(ce), tf.reduce_mean(hits), count


def evaluate(model, batches: MaskedBatches, seed: int = 12345) -> dict:
    total_loss = total_hits = total = 0.0
    for inputs, targets in batches.all_batches(seed):
        loss, acc, n = (float(v) for v in masked_loss_accuracy(model, tf.constant(inputs), tf.constant(targets), False))
        total_loss, total_hits, total = total_loss + loss * n, total_hits + acc * n, total + n
    return {"loss": round(total_loss / max(total, 1), 4), "accuracy": round(total_hits / max(total, 1), 4),
            "masked_tokens": int(total)}


# --------------------------------------------------------------------------- training
def pretrain_mlm(settings, model_type: str, corpus: str | Path, out: str | Path, opts: MlmOptions = MlmOptions(),
                 resume: bool = False, encoder_settings=None, log: Callable[[str], None] = print,
                 init_checkpoint: str | Path | None = None) -> dict:
    """Pretrain (or continue) and export to `out`; returns the metrics written to metrics.json.

    `encoder_settings` defaults to the shape the consuming model uses from scratch:
    `relation.encoder` for ALBERT, `spans.encoder` for ELECTRA. `init_checkpoint`: start a new
    run from that exported encoder folder (its vocab, config and weights) instead of from scratch.
    """
    if model_type not in MODEL_TYPES:
        raise ConfigError(f"model must be one of {MODEL_TYPES}, got {model_type!r}")
    out, state_dir = Path(out), Path(out) / "resume"
    config_path = out / CONFIG_NAMES[model_type]
    if resume and not (state_dir / "checkpoint").is_file():
        raise ConfigError(f"--resume: no training state in {state_dir}")
    if not resume and state_dir.exists():
        raise ConfigError(f"{out} already holds a pretraining run: pass --resume or choose another --out")
    init_weights = None
    if init_checkpoint is not None and not resume:
        from etl.models.encoder import find_checkpoint_folder

        init = Path(init_checkpoint)
        source = find_checkpoint_folder(init)
        source_config = init / CONFIG_NAMES[model_type]
        if not source_config.is_file():
            raise ConfigError(f"--init-checkpoint {init}: no {source_config.name} (a {model_type} folder "
                              f"exported by etl pretrain mlm)")
        init_weights = source.checkpoint
    started = time.monotonic()
    lines = read_corpus(corpus)
    if len(lines) < 2:
        raise ConfigError(f"{corpus}: the corpus needs at least 2 lines")
    keras.utils.set_random_seed(opts.seed)
    out.mkdir(parents=True, exist_ok=True)
    if init_weights is not None:  # the vocab and config of the encoder we continue
        import shutil

        shutil.copyfile(init / "vocab.txt", out / "vocab.txt")
        shutil.copyfile(source_config, config_path)
    elif not resume:  # the trimmed vocab and config are fixed for the whole run
        vocab_size = len(trim_vocab(settings.data.vocab, lines, out / "vocab.txt"))
        if encoder_settings is None:
            encoder_settings = settings.relation.encoder if model_type == "albert" else settings.spans.encoder
        config = scratch_config(encoder_settings, vocab_size)
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if opts.buckets[-1] > config["max_position_embeddings"]:
        raise ConfigError(f"bucket {opts.buckets[-1]} exceeds the encoder's "
                          f"{config['max_position_embeddings']} positions")

    tokenizer = load_tokenizer(out / "vocab.txt")
    vocab = (out / "vocab.txt").read_text(encoding="utf-8").splitlines()
    heldout_ids = set(range(0, len(lines), opts.heldout_every)[: opts.heldout_max])
    train_lines = [line for i, line in enumerate(lines) if i not in heldout_ids]
    heldout_lines = [lines[i] for i in sorted(heldout_ids)]
    special = (vocab.index(MASK), max(vocab.index(t) for t in (PAD, UNK, CLS, SEP, MASK)) + 1, len(vocab))
    train = MaskedBatches(encode_lines(tokenizer, train_lines, opts.buckets[-1]), opts, *special)
    heldout = MaskedBatches(encode_lines(tokenizer, heldout_lines, opts.buckets[-1]), opts, *special)
    log(f"{model_type} MLM: {len(train_lines):,} training lines, {len(heldout_lines):,} held out, "
        f"vocab {len(vocab):,}, config {config_path.name}")

    model, encoder = build_mlm_model(model_type, config_path, init_weights)
    optimizer = make_optimizer(opts.learning_rate, opts.steps, opts.warmup_ratio, opts.clip_norm)
    state = tf.train.Checkpoint(model=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(state, str(state_dir), max_to_keep=1)
    if resume:
        state.restore(manager.latest_checkpoint).expect_partial()
    first = int(optimizer.iterations.numpy())
    log(f"{model_type} MLM: {model.count_params():,} parameters; steps {first} -> {opts.steps}")

    @tf.function(reduce_retracing=True)
    def train_step(inputs, targets):
        with tf.GradientTape() as tape:
            loss, accuracy, _ = masked_loss_accuracy(model, inputs, targets, training=True)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, accuracy

    def save(step: int, recent: list[float]) -> dict:
        manager.save(checkpoint_number=step)
        export_checkpoint_folder(encoder, out, config, out / "vocab.txt", CONFIG_NAMES[model_type])
        scores = evaluate(model, heldout)
        metrics = {"model": model_type, "steps": step, "target_steps": opts.steps,
                   "train_loss_recent": round(float(np.mean(recent)), 4) if recent else None,
                   "heldout": scores, "heldout_lines": len(heldout_lines), "train_lines": len(train_lines),
                   "corpus": str(corpus), "vocab_size": len(vocab),
                   "init_checkpoint": str(init_checkpoint) if init_checkpoint else None,
                   "parameters": model.count_params(),
                   "options": asdict(opts), "encoder": config}
        return metrics

    loop_start, recent, metrics = time.monotonic(), [], None
    for step in range(first, opts.steps):
        inputs, targets = train.for_step(step)
        loss, accuracy = train_step(tf.constant(inputs), tf.constant(targets))
        recent = (recent + [float(loss)])[-100:]
        done = step + 1
        if done % opts.save_every == 0 or done == opts.steps:
            metrics = save(done, recent)
            rate = (done - first) / max(time.monotonic() - loop_start, 1e-9)
            metrics["steps_per_second_this_session"] = round(rate, 3)
            _write_metrics(out, metrics)
            log(f"step {done}/{opts.steps}: train loss {metrics['train_loss_recent']}  held-out loss "
                f"{metrics['heldout']['loss']} accuracy {metrics['heldout']['accuracy']}  ({rate:.2f} steps/s)")
    if metrics is None:  # nothing left to train (resumed at the target): still export and measure
        metrics = save(first, recent)
        _write_metrics(out, metrics)
    log(f"{model_type} MLM done in {time.monotonic() - started:.0f} s: {out}")
    return metrics


def _write_metrics(out: Path, metrics: dict) -> None:
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
