"""Training conveniences shared by both models: warm-up then linear decay, clipped Adam, and an
exponential moving average of the weights."""
from __future__ import annotations

from contextlib import contextmanager

from etl.compat import keras, tf


class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak` over `warmup_steps`, then linear decay to `floor` at `total_steps`."""

    def __init__(self, peak: float, total_steps: int, warmup_steps: int, floor: float = 0.0):
        super().__init__()
        self.peak, self.total_steps = float(peak), max(int(total_steps), 1)
        self.warmup_steps, self.floor = max(int(warmup_steps), 0), float(floor)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = self.peak * (step + 1.0) / max(self.warmup_steps, 1)
        span = max(self.total_steps - self.warmup_steps, 1)
        decay = self.peak - (self.peak - self.floor) * (step - self.warmup_steps) / span
        rate = tf.where(step < self.warmup_steps, warm, tf.maximum(decay, self.floor))
        return rate

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "floor": self.floor}


def make_optimizer(learning_rate: float, total_steps: int, warmup_ratio: float, clip_norm: float):
    """Adam with the warm-up/decay schedule and global-norm gradient clipping."""
    schedule = WarmupLinearDecay(learning_rate, total_steps, int(total_steps * warmup_ratio))
    return keras.optimizers.Adam(learning_rate=schedule, global_clipnorm=clip_norm or None)


class WeightAverage:
    """Exponential moving average of a model's trainable weights (shadow copies, updated after every
    optimizer step by `update()`, which may run inside a tf.function). The average is smoother
    than the last step's weights; `applied()` swaps it in for evaluation and puts the trained
    weights back afterwards, so training continues from where it was."""

    def __init__(self, variables, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"weight-average decay must be in (0, 1), got {decay}")
        self.variables, self.decay = list(variables), float(decay)
        self.shadow = [tf.Variable(v, trainable=False) for v in self.variables]

    def update(self) -> None:
        for shadow, variable in zip(self.shadow, self.variables):
            shadow.assign(self.decay * shadow + (1.0 - self.decay) * variable)

    @contextmanager
    def applied(self):
        trained = [v.numpy() for v in self.variables]
        for shadow, variable in zip(self.shadow, self.variables):
            variable.assign(shadow)
        try:
            yield
        finally:
            for value, variable in zip(trained, self.variables):
                variable.assign(value)
