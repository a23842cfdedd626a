"""Training conveniences shared by both models: warm-up then linear decay, clipped Adam."""
from __future__ import annotations

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
