"""Multi-label losses for the relation classifier (selected by `relation.loss`).

All three take `y_true` (0/1) and `y_pred` (sigmoid probabilities), shape [batch, labels], and
return the loss per sample, shape [batch] (mean over labels); Keras averages over the batch.
Probabilities are clipped to [eps, 1 - eps] before the logarithm.

- `bce`: plain binary cross-entropy, -[y log p + (1 - y) log(1 - p)].
- `weighted_bce`: the positive term of label c is multiplied by w_c (see `positive_weights`):
  -[w_c y log p + (1 - y) log(1 - p)], so rare predicates are not drowned by their negatives.
- `focal`: Lin et al. (2017), -[a y (1 - p)^g log p + (1 - a)(1 - y) p^g log(1 - p)]; easy
  examples (p near the label) are down-weighted by the modulating factor.
"""
from __future__ import annotations

from typing import Sequence, get_args

import numpy as np

from etl.compat import K, tf
from etl.config import RelationLoss

EPSILON = 1e-7
# w_c = clip(((N - n_c + 1) / (n_c + 1)) ** POWER, 1, MAX_WEIGHT): square root of the negative /
# positive ratio (add-one smoothed), capped so a predicate seen 2 times cannot dominate the batch.
WEIGHT_POWER = 0.5
MAX_WEIGHT = 30.0


def positive_weights(label_counts: Sequence[int], num_samples: int,
                     power: float = WEIGHT_POWER, max_weight: float = MAX_WEIGHT) -> np.ndarray:
    """Per-label weight of the positive term, from how often each label occurs in training."""
    counts = np.asarray(label_counts, dtype=np.float64)
    ratio = (num_samples - counts + 1.0) / (counts + 1.0)
    return np.clip(ratio ** power, 1.0, max_weight).astype(np.float32)


def _clip(y_true, y_pred):
    y_true = tf.cast(y_true, y_pred.dtype)
    return y_true, K.clip(y_pred, EPSILON, 1.0 - EPSILON)


def bce(y_true, y_pred):
    y_true, p = _clip(y_true, y_pred)
    loss = -(y_true * tf.math.log(p) + (1.0 - y_true) * tf.math.log(1.0 - p))
    return tf.reduce_mean(loss, axis=-1)


def weighted_bce_loss(weights: Sequence[float]):
    w = tf.constant(np.asarray(weights, dtype=np.float32))

    def weighted_bce(y_true, y_pred):
        y_true, p = _clip(y_true, y_pred)
        loss = -(w * y_true * tf.math.log(p) + (1.0 - y_true) * tf.math.log(1.0 - p))
        return tf.reduce_mean(loss, axis=-1)

    return weighted_bce


def focal_loss(gamma: float = 2.0, alpha: float = 0.25):
    def focal(y_true, y_pred):
        y_true, p = _clip(y_true, y_pred)
        positive = alpha * y_true * tf.pow(1.0 - p, gamma) * tf.math.log(p)
        negative = (1.0 - alpha) * (1.0 - y_true) * tf.pow(p, gamma) * tf.math.log(1.0 - p)
        return tf.reduce_mean(-(positive + negative), axis=-1)

    return focal


def make_loss(name: str, label_counts: Sequence[int] = (), num_samples: int = 0,
              gamma: float = 2.0, alpha: float = 0.25):
    """The loss named in the settings; `weighted_bce` needs the training label counts."""
    if name == "bce":
        return bce
    if name == "weighted_bce":
        return weighted_bce_loss(positive_weights(label_counts, num_samples))
    if name == "focal":
        return focal_loss(gamma, alpha)
    raise ValueError(f"unknown loss {name!r} ({' | '.join(get_args(RelationLoss))})")
