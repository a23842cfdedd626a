"""The relation classifier's lexical branch: a bag of characters and character bigrams.

From scratch, on 2,500 training texts, the ALBERT encoder memorises the texts and a plain bag of
characters and bigrams under a linear layer generalises better (dev micro-F1 0.535 against 0.61,
MODELS.md). The lexical branch is that linear model inside the relation model:

    feature ids -> scale * (sum of their rows of a [features, labels] table + bias) = logits

Features of a text (`LexicalFeatures.ids`), each counted once (presence, not counts):
- every token id of the model's vocab (unigrams; [CLS]/[SEP] act as a second bias);
- every pair of adjacent tokens seen in at least `min_count` training texts (bigrams), numbered
  after the vocab; unseen pairs have no feature.

The bigram vocabulary is a sorted array of keys `first * vocab_size + second`, saved as
`bigrams.txt` ("first second" per line) in the model folder, so lookups are vectorised NumPy
over a padded batch (no Python loop per token on the inference path).

`scale` lets the branch learn at `scale` x the encoder's learning rate under one Adam optimizer
(Adam's step size ignores the gradient scale, so a parameter multiplied by `scale` moves `scale`
times faster); the L2 penalty is applied to the effective weights (scale x table).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from etl.compat import K, keras, tf

FILE = "bigrams.txt"


class LexicalFeatures:
    """Token ids -> ids of the unigram and bigram features present (1..size; 0 = padding)."""

    def __init__(self, pairs: Iterable[tuple[int, int]], vocab_size: int):
        self.vocab_size = int(vocab_size)
        keys = {int(a) * self.vocab_size + int(b) for a, b in pairs}
        self.keys = np.array(sorted(keys), dtype=np.int64)

    @property
    def size(self) -> int:
        """Number of features (unigrams + bigrams); ids run from 1 to size."""
        return self.vocab_size + len(self.keys)

    @classmethod
    def build(cls, token_ids: Iterable[Sequence[int]], vocab_size: int, min_count: int) -> "LexicalFeatures":
        """Bigrams from the pairs of adjacent tokens found in at least `min_count` of the texts."""
        counts: Counter = Counter()
        for ids in token_ids:
            counts.update({(a, b) for a, b in zip(ids, ids[1:]) if a and b})
        return cls((pair for pair, n in counts.items() if n >= min_count), vocab_size)

    def bigram_ids(self, token_ids: np.ndarray) -> np.ndarray:
        """[batch, length] token ids -> [batch, length - 1] bigram numbers (1..n, 0 = none) of the
        pairs (i, i + 1)."""
        token_ids = np.asarray(token_ids, dtype=np.int64)
        first, second = token_ids[:, :-1], token_ids[:, 1:]
        if not len(self.keys) or first.shape[1] == 0:
            return np.zeros(first.shape, dtype=np.int64)
        query = first * self.vocab_size + second
        position = np.searchsorted(self.keys, query)
        found = self.keys[np.minimum(position, len(self.keys) - 1)] == query
        found &= (first > 0) & (second > 0)
        return np.where(found, position + 1, 0)

    def ids(self, token_ids: np.ndarray) -> np.ndarray:
        """[batch, length] token ids (0 = padding) -> [batch, 2 * length - 1] int32 feature ids,
        each present feature once, 0 elsewhere. Unigram t -> t (padding 0 stays 0); bigram k ->
        vocab_size + k."""
        token_ids = np.asarray(token_ids, dtype=np.int64)
        bigrams = self.bigram_ids(token_ids)
        features = np.concatenate([token_ids, np.where(bigrams > 0, bigrams + self.vocab_size, 0)], axis=1)
        features = np.sort(features, axis=1)
        features[:, 1:][features[:, 1:] == features[:, :-1]] = 0  # repeats count once
        return features.astype(np.int32)

    def save(self, folder: str | Path) -> None:
        first, second = np.divmod(self.keys, self.vocab_size)
        lines = [f"{a} {b}" for a, b in zip(first.tolist(), second.tolist())]
        (Path(folder) / FILE).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, vocab_size: int) -> "LexicalFeatures":
        numbers = (Path(folder) / FILE).read_text(encoding="utf-8").split()
        return cls(zip(map(int, numbers[0::2]), map(int, numbers[1::2])), vocab_size)


class LexicalLogits(keras.layers.Layer):
    """[batch, n] feature ids -> [batch, labels] logits: scale * (sum of the features' rows + bias)."""

    def __init__(self, features: int, labels: int, scale: float = 1.0, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.features, self.labels, self.scale, self.l2 = features, labels, float(scale), float(l2)

    def build(self, input_shape):
        # zeros: the branch starts at "no opinion" and the encoder head's probabilities are untouched
        regularizer = keras.regularizers.l2(self.l2 * self.scale ** 2) if self.l2 else None
        self.table = self.add_weight(name="table", shape=(self.features + 1, self.labels), initializer="zeros",
                                     regularizer=regularizer)
        self.bias = self.add_weight(name="bias", shape=(self.labels,), initializer="zeros")
        super().build(input_shape)

    def call(self, feature_ids):
        present = K.cast(K.greater(feature_ids, 0), self.table.dtype)[:, :, None]
        summed = K.sum(tf.gather(self.table, feature_ids) * present, axis=1)
        return self.scale * (summed + self.bias)

    def compute_mask(self, inputs, mask=None):
        return None


class BranchMix(keras.layers.Layer):
    """[encoder probabilities, lexical probabilities] -> w * encoder + (1 - w) * lexical.

    `w` is not trained by gradient: it is chosen on the dev split after each epoch (the weight with
    the best micro-F1) and saved with the weights."""

    def build(self, input_shape):
        self.encoder_weight = self.add_weight(name="encoder_weight", shape=(), initializer="zeros",
                                              trainable=False)
        super().build(input_shape)

    def call(self, inputs):
        encoder_probs, lexical_probs = inputs
        return self.encoder_weight * encoder_probs + (1.0 - self.encoder_weight) * lexical_probs

    def compute_mask(self, inputs, mask=None):
        return None
