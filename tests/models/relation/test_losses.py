"""Relation losses against values computed by hand (y = [1, 0], p = [0.8, 0.1])."""
import math

import numpy as np
import pytest

from etl.models.relation import losses

Y = np.array([[1.0, 0.0]], dtype=np.float32)
P = np.array([[0.8, 0.1]], dtype=np.float32)
LOG_08, LOG_09 = -math.log(0.8), -math.log(0.9)  # 0.22314355, 0.10536052


def value(fn, y=Y, p=P):
    return fn(y, p).numpy()


def test_bce_by_hand():
    assert value(losses.bce) == pytest.approx([(LOG_08 + LOG_09) / 2], rel=1e-5)  # 0.16425204


def test_weighted_bce_weights_only_the_positive_term():
    fn = losses.weighted_bce_loss([2.0, 3.0])
    # label 0 is positive: 2 * 0.22314; label 1 is negative: its weight 3 is not applied
    assert value(fn) == pytest.approx([(2 * LOG_08 + LOG_09) / 2], rel=1e-5)  # 0.27582381


def test_positive_weights_formula():
    # w_c = clip(sqrt((N - n_c + 1) / (n_c + 1)), 1, 30) with N = 10
    weights = losses.positive_weights([1, 9, 0, 10], 10)
    assert weights == pytest.approx([math.sqrt(10 / 2), 1.0, math.sqrt(11), 1.0], rel=1e-6)
    assert losses.positive_weights([0], 10_000)[0] == 30.0  # capped


def test_focal_by_hand():
    fn = losses.focal_loss(gamma=2.0, alpha=0.25)
    positive = 0.25 * 0.2 ** 2 * LOG_08  # 0.00223144
    negative = 0.75 * 0.1 ** 2 * LOG_09  # 0.00079020
    assert value(fn) == pytest.approx([(positive + negative) / 2], rel=1e-5)  # 0.00151082


def test_focal_without_focusing_is_half_bce():
    assert value(losses.focal_loss(gamma=0.0, alpha=0.5)) == pytest.approx(value(losses.bce) / 2, rel=1e-5)


def test_loss_per_sample_and_clipped():
    y = np.array([[1, 0, 1], [0, 0, 0]], dtype=np.float32)
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5]], dtype=np.float32)  # log(0) must not appear
    for fn in (losses.bce, losses.weighted_bce_loss([1, 2, 3]), losses.focal_loss()):
        out = value(fn, y, p)
        assert out.shape == (2,) and np.all(np.isfinite(out))
    assert value(losses.bce, y, p)[1] == pytest.approx(math.log(2), rel=1e-5)


def test_make_loss_names():
    assert losses.make_loss("bce") is losses.bce
    assert losses.make_loss("weighted_bce", [1, 2], 10).__name__ == "weighted_bce"
    assert losses.make_loss("focal").__name__ == "focal"
    with pytest.raises(ValueError):
        losses.make_loss("hinge")
