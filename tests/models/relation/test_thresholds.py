"""Multi-label figures and per-predicate threshold tuning (numpy only)."""
import numpy as np
import pytest

from etl.models.relation.thresholds import best_global_threshold, crossfit_metrics, multilabel_metrics, tune_thresholds


def test_metrics_by_hand():
    gold = np.array([[1, 0], [1, 1], [0, 0], [0, 1]], bool)
    pred = np.array([[1, 1], [0, 1], [0, 0], [0, 0]], bool)
    m = multilabel_metrics(gold, pred)
    # micro: tp 2 (row0 l0, row1 l1), fp 1, fn 2 -> P 2/3, R 2/4, F1 4/7
    assert m["micro"] == {"precision": 0.6667, "recall": 0.5, "f1": 0.5714}
    # label 0: P 1, R 0.5, F1 2/3; label 1: P 0.5, R 0.5, F1 0.5
    assert m["macro"] == {"precision": 0.75, "recall": 0.5, "f1": 0.5833}
    assert (m["gold"], m["predicted"], m["correct"]) == (4, 3, 2)


def test_macro_ignores_labels_absent_from_gold():
    gold = np.array([[1, 0], [0, 0]], bool)
    pred = np.array([[1, 1], [0, 0]], bool)
    assert multilabel_metrics(gold, pred)["macro"]["f1"] == 1.0


def toy():
    """Label 0 separates at (0.2, 0.35], label 1 at (0.6, 0.75]; label 2 has 2 positives."""
    probs = np.array([
        [0.35, 0.10, 0.90], [0.40, 0.20, 0.95], [0.45, 0.75, 0.10], [0.50, 0.80, 0.10],
        [0.60, 0.85, 0.10], [0.10, 0.60, 0.10], [0.20, 0.55, 0.10], [0.15, 0.90, 0.10],
        [0.05, 0.10, 0.10], [0.20, 0.30, 0.10],
    ])
    gold = np.zeros_like(probs, dtype=bool)
    gold[[0, 1, 2, 3, 4], 0] = True
    gold[[2, 3, 4, 7], 1] = True
    gold[[0, 1], 2] = True
    return gold, probs


def test_tune_thresholds_toy():
    gold, probs = toy()
    t = tune_thresholds(gold, probs, min_support=3)
    assert 0.2 < t[0] <= 0.35
    assert 0.6 < t[1] <= 0.75
    # label 2 has 2 positives (< min_support): it keeps the global micro-F1 threshold
    assert t[2] == pytest.approx(best_global_threshold(gold, probs))
    tuned = multilabel_metrics(gold, probs >= t)
    assert tuned["micro"]["f1"] == 1.0
    assert tuned["micro"]["f1"] > multilabel_metrics(gold, probs >= 0.5)["micro"]["f1"]


def test_tuning_ties_prefer_the_global_threshold():
    gold = np.array([[True], [False]] * 5)
    probs = np.array([[0.9], [0.1]] * 5)
    # every threshold in (0.1, 0.9] is perfect: the one nearest the global choice (0.5) wins
    assert tune_thresholds(gold, probs, min_support=1)[0] == pytest.approx(0.5)


def test_crossfit_runs_and_is_bounded():
    gold, probs = toy()
    m = crossfit_metrics(np.tile(gold, (4, 1)), np.tile(probs, (4, 1)), min_support=4)
    assert 0.0 <= m["micro"]["f1"] <= 1.0 and m["gold"] == 4 * gold.sum()
