"""etl/models/training.py: the learning-rate schedule and the moving average of the weights."""
import numpy as np
import pytest


def test_warmup_then_decay_schedule():
    from etl.models.training import WarmupLinearDecay

    schedule = WarmupLinearDecay(peak=1e-3, total_steps=100, warmup_steps=10)
    rates = [float(schedule(step)) for step in (0, 9, 10, 55, 100, 200)]
    assert rates[0] == pytest.approx(1e-4) and rates[1] == pytest.approx(1e-3)
    assert rates[2] == pytest.approx(1e-3) and rates[3] == pytest.approx(5e-4)
    assert rates[4] == pytest.approx(0.0) and rates[5] == pytest.approx(0.0)


def test_weight_average_updates_in_a_compiled_step_and_swaps_back():
    from etl.compat import tf
    from etl.models.training import WeightAverage

    weight = tf.Variable([0.0, 4.0])
    average = WeightAverage([weight], decay=0.5)

    @tf.function
    def step(value):
        weight.assign(value)
        average.update()

    step(tf.constant([2.0, 0.0]))  # shadow = 0.5 * [0, 4] + 0.5 * [2, 0]
    step(tf.constant([2.0, 0.0]))  # shadow = 0.5 * [1, 2] + 0.5 * [2, 0]
    with average.applied():
        np.testing.assert_allclose(weight.numpy(), [1.5, 1.0])
    np.testing.assert_allclose(weight.numpy(), [2.0, 0.0])  # training goes on from its own weights
    with pytest.raises(ValueError):
        WeightAverage([weight], decay=1.0)
