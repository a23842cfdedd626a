"""Supervised warm-up of a from-scratch relation encoder: CMeEE entity tagging.

No pretrained Chinese encoder exists on these machines, and an ALBERT trained from scratch on the
2,500 CMeIE training texts memorises them within a few epochs and stalls near 0.52 dev micro-F1
(see MODELS.md). CMeEE (15,000 sentences from the same kind of medical text) labels every
character with the entity types covering it; the predicates of CMeIE are largely "which kinds of
entities does this text talk about" (drugs -> 药物治疗, symptoms -> 临床表现, lab items ->
实验室检查, ...), so tagging CMeEE first teaches the encoder the medical lexicon the relation head
then reads. Only the CMeEE *train* file is used, and sentences sharing any 20-character run with a
relation dev text are dropped, so the dev figures stay clean.

The tagging head (Dense(9, sigmoid) per token; nested entities make it multi-label) is thrown
away afterwards; only the encoder weights carry over into the relation model.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from etl.compat import K, keras, tf
from etl.data.cmeee import CMEEE_TYPES, NerSample, read_cmeee
from etl.data.overlap import SHINGLE, OverlapFilter
from etl.models.tokens import pad_to, shuffled_batches
from etl.models.training import make_optimizer

TYPES = tuple(CMEEE_TYPES)


def cmeee_pretraining_samples(path, exclude_texts: Sequence[str], max_samples: int = 0) -> list[NerSample]:
    """CMeEE sentences that share no SHINGLE-character run with any of `exclude_texts`."""
    dev = OverlapFilter(exclude_texts, SHINGLE)
    kept = []
    for sample in read_cmeee(path):
        if dev.overlaps(sample.text):
            continue
        kept.append(sample)
        if max_samples and len(kept) >= max_samples:
            break
    return kept


def token_tags(tokenizer, sample: NerSample, max_length: int) -> tuple[list[int], np.ndarray]:
    """Token ids and a [tokens, 9] 0/1 matrix: the entity types covering each token's characters."""
    tokens = tokenizer.tokenize(sample.text, maxlen=max_length)
    ids = tokenizer.tokens_to_ids(tokens)
    mapping = tokenizer.rematch(sample.text, tokens)  # token -> character offsets ([] for specials)
    char_types = np.zeros((len(sample.text), len(TYPES)), dtype=np.float32)
    for entity in sample.entities:
        char_types[entity.start:entity.end, TYPES.index(entity.type)] = 1.0
    tags = np.zeros((len(ids), len(TYPES)), dtype=np.float32)
    for i, chars in enumerate(mapping):
        if chars:
            tags[i] = char_types[chars].max(axis=0)
    return ids, tags


class TagBatches(keras.utils.Sequence):
    """Bucketed tagging batches, reshuffled every epoch (same bucket rule as the relation data)."""

    def __init__(self, items: list[tuple[list[int], np.ndarray]], buckets: Sequence[int], batch_size: int,
                 seed: int = 0):
        super().__init__()
        self.items, self.buckets, self.batch_size = items, tuple(buckets), batch_size
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def on_epoch_end(self):
        lengths = [len(ids) for ids, _ in self.items]
        self.batches = shuffled_batches(lengths, self.buckets, self.batch_size, self.rng)

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        bucket, rows = self.batches[index]
        ids = pad_to([self.items[i][0] for i in rows], bucket)
        tags = np.zeros((len(rows), bucket, len(TYPES)), dtype=np.float32)
        for row, i in enumerate(rows):
            t = self.items[i][1][:bucket]
            tags[row, : len(t)] = t
        return [ids, np.zeros_like(ids)], tags


def token_bce(y_true, y_pred):
    """Per-token loss [batch, length]; Keras applies the padding mask the encoder output carries."""
    p = K.clip(y_pred, 1e-7, 1.0 - 1e-7)
    loss = -(y_true * tf.math.log(p) + (1.0 - y_true) * tf.math.log(1.0 - p))
    return tf.reduce_mean(loss, axis=-1)


def pretrain_encoder(encoder, sequence_output, tokenizer, samples: list[NerSample], rel,
                     log: Callable[[str], None], verbose: int) -> dict:
    """Train `encoder` (in place) on CMeEE tagging for `rel.pretrain_epochs` epochs."""
    items = [token_tags(tokenizer, s, rel.buckets[-1]) for s in samples]
    batches = TagBatches(items, rel.buckets, rel.batch_size, rel.seed)
    tags = keras.layers.Dense(len(TYPES), activation="sigmoid", name="Pretrain-Tags")(sequence_output)
    tagger = keras.models.Model(encoder.model.inputs, tags, name="cmeee_tagger")
    steps = len(batches) * rel.pretrain_epochs
    tagger.compile(optimizer=make_optimizer(rel.pretrain_learning_rate, steps, rel.warmup_ratio, rel.clip_norm),
                   loss=token_bce)
    log(f"pre-training the encoder on CMeEE entity tagging: {len(items)} sentences, "
        f"{rel.pretrain_epochs} epochs x {len(batches)} batches")
    history = tagger.fit(batches, epochs=rel.pretrain_epochs, shuffle=False, verbose=verbose)
    return {"sentences": len(items), "epochs": rel.pretrain_epochs,
            "loss": [round(float(v), 5) for v in history.history["loss"]]}
