"""The one place that prepares TensorFlow and bert4keras for this stack.

Every module that needs TensorFlow, Keras or bert4keras gets them from here:

    from etl.compat import tf, keras, K

Importing this module sets the environment variables bert4keras and tf-keras need *before*
TensorFlow is imported, and applies the small fixes bert4keras 0.11.5 needs on TensorFlow 2.21
(see ../shared/notes/STACK.md). Nothing else in the package may import TensorFlow first; the
CLI imports model code lazily so that `etl --help` and the graph/data commands stay fast.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    # Too late to select Keras 2: fail loudly instead of producing baffling Keras 3 errors.
    raise ImportError("etl.compat must be imported before TensorFlow (TF_USE_LEGACY_KERAS unset)")

# bert4keras switches to tf.keras with TF_KERAS=1; tf.keras is Keras 2 (tf-keras) only with
# TF_USE_LEGACY_KERAS=1. Both are forced: other values cannot work with this stack.
os.environ["TF_KERAS"] = "1"
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep cron logs free of TF start-up noise


@contextlib.contextmanager
def _startup_lines_to_debug_log():
    """TensorFlow's C++ start-up lines (absl's "All log messages before absl::InitializeLog()",
    cpu_feature_guard, oneDNN, CUDA factory registration in the GPU build) go straight to file
    descriptor 2, whatever TF_CPP_MIN_LOG_LEVEL says for some of them: cron would mail them every
    night. They are captured while TensorFlow loads and logged at DEBUG (`etl -vv` shows them);
    if loading fails they are printed, as they may say why."""
    log = logging.getLogger("etl.tensorflow")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded use): nothing to capture
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines()
            for line in lines:
                if failed:
                    print(line, file=sys.stderr)
                else:
                    log.debug("%s", line)


with _startup_lines_to_debug_log():
    import tensorflow as tf  # noqa: E402

    tf.get_logger().setLevel("ERROR")
    _ = tf.keras.layers  # touching tf.keras.layers first avoids bert4keras' import recursion on TF 2.15

    import tf_keras  # noqa: E402,F401  (fail early with a clear message if tf-keras is missing)
    from bert4keras.backend import K, keras  # noqa: E402  (Keras 2 via tf-keras, never Keras 3)

# bert4keras optimizers (AdamLR, extend_with_*) use the pre-2.11 optimizer API (_set_hyper).
keras.optimizers.Optimizer = keras.optimizers.legacy.Optimizer

from bert4keras import models as _b4k_models  # noqa: E402


def _save_weights_as_checkpoint(self, filename, mapping=None, dtype=None):
    """Write the encoder's weights as a Google-format TF1 checkpoint.

    Replaces bert4keras' version, which fails under eager TF 2 ("The Session graph is empty"):
    the values are read first, then written from a private graph with a v1 Session + Saver.
    """
    mapping = mapping or self.variable_mapping()
    mapping = {self.prefixed(k): v for k, v in mapping.items()}
    mapping = {k: v for k, v in mapping.items() if k in self.layers}
    named_values = []
    for layer_name, variable_names in mapping.items():
        values = K.batch_get_value(self.layers[layer_name].trainable_weights)
        named_values.extend(zip(variable_names, values))
    with tf.Graph().as_default():
        variables = [
            tf.compat.v1.Variable(value.astype(dtype) if dtype else value, name=name)
            for name, value in named_values
        ]
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.variables_initializer(variables))
            saver.save(session, filename, write_meta_graph=False)


_b4k_models.Transformer.save_weights_as_checkpoint = _save_weights_as_checkpoint


class _FreshTruncatedNormal(keras.initializers.Initializer):
    """Truncated normal that draws new values on every call.

    bert4keras hands one `TruncatedNormal` instance to all Dense layers of an attention block
    (and of a feed-forward block); tf-keras' unseeded initializers return the *same* values on
    every call, so query, key, value and output kernels started identical in from-scratch
    encoders. Random ops here follow the global seed (`keras.utils.set_random_seed`).
    """

    def __init__(self, stddev: float = 0.02):
        self.stddev = stddev

    def __call__(self, shape, dtype=None, **kwargs):
        return tf.random.truncated_normal(shape, stddev=self.stddev, dtype=dtype or K.floatx())

    def get_config(self):
        return {"stddev": self.stddev}


_b4k_models.Transformer.initializer = property(lambda self: _FreshTruncatedNormal(0.02))

__all__ = ["tf", "keras", "K"]
