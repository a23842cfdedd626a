"""etl/models/training.py: the learning-rate schedule."""
import pytest


def test_warmup_then_decay_schedule():
    from etl.models.training import WarmupLinearDecay

    schedule = WarmupLinearDecay(peak=1e-3, total_steps=100, warmup_steps=10)
    rates = [float(schedule(step)) for step in (0, 9, 10, 55, 100, 200)]
    assert rates[0] == pytest.approx(1e-4) and rates[1] == pytest.approx(1e-3)
    assert rates[2] == pytest.approx(1e-3) and rates[3] == pytest.approx(5e-4)
    assert rates[4] == pytest.approx(0.0) and rates[5] == pytest.approx(0.0)
