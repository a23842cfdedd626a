"""The siamese tower (Sentence-BERT): one ELECTRA encoder, mean pooling over the real tokens.

Both sides of every pair go through the same Keras model (shared weights). Training puts a head on
top that the run never loads: (u, v, |u - v|) into a softmax for the CBLUE pair tasks, scaled
cosine similarities for CHIP-CDN (training.py). At run time only the vectors are compared, so the
standard names are encoded once, when the model is trained (name_vectors.npy).
"""
from __future__ import annotations

import weakref
from typing import Sequence

import numpy as np

from etl.compat import keras, tf
from etl.models.encoder import build_encoder
from etl.models.tokens import bucket_length, pad_to

BUCKETS = (16, 32, 64)  # tokens: diagnosis strings and names are short; longer ones are cut


class MeanPooling(keras.layers.Layer):
    """Mean of the token vectors where the token id is not padding ([CLS] and [SEP] included)."""

    def call(self, inputs):
        sequence, token_ids = inputs
        mask = tf.cast(tf.not_equal(token_ids, 0), sequence.dtype)[:, :, None]
        return tf.reduce_sum(sequence * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)


def build_tower(config_path, checkpoint=None):
    """token ids -> [batch, hidden] vector (the encoder's last layer, mean-pooled)."""
    encoder = build_encoder("electra", config_path, checkpoint)
    token_ids = keras.layers.Input(shape=(None,), dtype="int32", name="Tower-Token-Ids")
    segments = keras.layers.Lambda(lambda ids: tf.zeros_like(ids), name="Tower-Segments")(token_ids)
    sequence = encoder.model([token_ids, segments])
    vector = MeanPooling(name="Tower-Mean-Pooling")([sequence, token_ids])
    return keras.Model(token_ids, vector, name="siamese_tower")


def token_rows(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    return [tokenizer.encode(t, maxlen=BUCKETS[-1])[0] for t in texts]


def batch_ids(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Rows padded to the bucket of the longest one."""
    return pad_to(rows, bucket_length(max(len(r) for r in rows), BUCKETS))


_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compiled(tower):
    """The tower's inference as one traced graph (an eager Keras call runs layer by layer: 3x slower)."""
    function = _COMPILED.get(tower)
    if function is None:
        function = tf.function(lambda ids: tower(ids, training=False),
                               input_signature=[tf.TensorSpec([None, None], tf.int32)])
        _COMPILED[tower] = function
    return function


def encode(tower, tokenizer, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """L2-normalised float32 vectors of `texts`, in order (length-sorted batches, fewer pads)."""
    rows = token_rows(tokenizer, texts)
    out = np.zeros((len(texts), tower.output_shape[-1]), dtype=np.float32)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    predict = compiled(tower)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        out[chunk] = predict(batch_ids([rows[i] for i in chunk])).numpy()
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)
