"""Multi-label figures and decision thresholds (numpy only, no TensorFlow).

Metrics follow `etl.evaluate`: micro precision/recall/F1 over all (text, label) decisions; macro
figures are the mean over the labels that occur at least once in the gold; rounded to 4 places.

Threshold tuning (`tune_thresholds`):
1. one global threshold maximising micro-F1 over all labels;
2. each label with at least `min_support` gold positives gets its own threshold maximising that
   label's F1 (ties: the one closest to the global threshold); rarer labels keep the global one,
   because a threshold fitted to 1-4 positives is noise.
Tuned on dev and measured on dev the figure is optimistic; `crossfit_metrics` gives the honest
estimate (tune on one half of dev, measure on the other, both ways).
"""
from __future__ import annotations

import numpy as np

GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


def _f1(tp, fp, fn):
    tp, fp, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn))
    p = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    r = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    f = np.divide(2 * p * r, p + r, out=np.zeros_like(tp), where=(p + r) > 0)
    return p, r, f


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Micro and macro precision/recall/F1 of 0/1 decisions, both [n, labels]."""
    y_true, y_pred = np.asarray(y_true, bool), np.asarray(y_pred, bool)
    tp = (y_true & y_pred).sum(0)
    fp = (~y_true & y_pred).sum(0)
    fn = (y_true & ~y_pred).sum(0)
    micro = _f1(tp.sum(), fp.sum(), fn.sum())
    p, r, f = _f1(tp, fp, fn)
    present = y_true.sum(0) > 0
    macro = [float(v[present].mean()) if present.any() else 0.0 for v in (p, r, f)]
    return {
        "micro": {"precision": round(float(micro[0]), 4), "recall": round(float(micro[1]), 4),
                  "f1": round(float(micro[2]), 4)},
        "macro": {"precision": round(macro[0], 4), "recall": round(macro[1], 4), "f1": round(macro[2], 4)},
        "gold": int(y_true.sum()), "predicted": int(y_pred.sum()), "correct": int(tp.sum()),
    }


def best_global_threshold(y_true: np.ndarray, probs: np.ndarray, grid=GRID) -> float:
    """The single threshold (for all labels) with the highest micro-F1; ties: closest to 0.5."""
    y_true = np.asarray(y_true, bool)
    scores = []
    for t in grid:
        pred = probs >= t
        tp = (y_true & pred).sum()
        scores.append(float(_f1(tp, pred.sum() - tp, y_true.sum() - tp)[2]))
    scores = np.asarray(scores)
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(grid[best[np.argmin(np.abs(grid[best] - 0.5))]])


def tune_thresholds(y_true: np.ndarray, probs: np.ndarray, min_support: int = 5, grid=GRID) -> np.ndarray:
    """Per-label thresholds, [labels] float32 (see the module docstring for the rule)."""
    y_true, probs = np.asarray(y_true, bool), np.asarray(probs, np.float64)
    global_t = best_global_threshold(y_true, probs, grid)
    thresholds = np.full(y_true.shape[1], global_t, dtype=np.float32)
    for label in range(y_true.shape[1]):
        gold = y_true[:, label]
        if gold.sum() < min_support:
            continue
        pred = probs[:, label][None, :] >= grid[:, None]  # [grid, n]
        tp = (pred & gold).sum(1)
        f = _f1(tp, pred.sum(1) - tp, gold.sum() - tp)[2]
        best = np.flatnonzero(f >= f.max() - 1e-12)
        thresholds[label] = grid[best[np.argmin(np.abs(grid[best] - global_t))]]
    return thresholds


def crossfit_metrics(y_true: np.ndarray, probs: np.ndarray, min_support: int = 5, seed: int = 0) -> dict:
    """Honest figures for tuned thresholds: tune on one half, decide the other half, swap."""
    n = len(y_true)
    order = np.random.default_rng(seed).permutation(n)
    halves = (order[: n // 2], order[n // 2:])
    decisions = np.zeros_like(np.asarray(y_true, bool))
    for tune, apply in (halves, halves[::-1]):
        t = tune_thresholds(y_true[tune], probs[tune], max(1, min_support // 2))
        decisions[apply] = probs[apply] >= t
    return multilabel_metrics(y_true, decisions)
