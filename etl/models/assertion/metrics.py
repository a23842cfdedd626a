"""Scores of predicted assertion statuses against gold ones (rules, model or both).

One function so that the rules' figures, the model's metrics.json and `etl evaluate assertions`
are computed the same way: accuracy, precision / recall / F1 per status, the confusion matrix
(gold status -> predicted status -> count) and the counts behind them.
"""
from __future__ import annotations

from typing import Sequence

from etl.records import ASSERTIONS as STATUSES  # present, absent, possible


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def assertion_report(gold_labels: Sequence[str], predicted_labels: Sequence[str]) -> dict:
    """Accuracy, per-status P/R/F1 and the confusion matrix of two aligned label lists."""
    if len(gold_labels) != len(predicted_labels):
        raise ValueError(f"{len(gold_labels)} gold labels but {len(predicted_labels)} predictions")
    for label in (*gold_labels, *predicted_labels):
        if label not in STATUSES:
            raise ValueError(f"unknown assertion status {label!r} (expected one of {STATUSES})")
    confusion = {g: {p: 0 for p in STATUSES} for g in STATUSES}
    for gold, predicted in zip(gold_labels, predicted_labels):
        confusion[gold][predicted] += 1
    per_status = {}
    for status in STATUSES:
        correct = confusion[status][status]
        gold = sum(confusion[status].values())
        predicted = sum(confusion[g][status] for g in STATUSES)
        precision, recall = _ratio(correct, predicted), _ratio(correct, gold)
        f1 = _ratio(2 * precision * recall, precision + recall) if precision + recall else 0.0
        per_status[status] = {"precision": round(precision, 4), "recall": round(recall, 4),
                              "f1": round(f1, 4), "gold": gold, "predicted": predicted,
                              "correct": correct}
    correct = sum(confusion[s][s] for s in STATUSES)
    return {
        "accuracy": round(_ratio(correct, len(gold_labels)), 4),
        "macro_f1": round(sum(per_status[s]["f1"] for s in STATUSES) / len(STATUSES), 4),
        "per_status": per_status,
        "confusion": confusion,
        "count": len(gold_labels),
        "correct": correct,
    }
