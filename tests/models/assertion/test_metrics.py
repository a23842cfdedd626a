"""assertion_report: accuracy, per-status P/R/F1 and the confusion matrix."""
from __future__ import annotations

import pytest

from etl.models.assertion.metrics import assertion_report


def test_a_report_counted_by_hand():
    gold = ["present", "present", "present", "absent", "absent", "possible"]
    pred = ["present", "absent", "present", "absent", "present", "possible"]
    report = assertion_report(gold, pred)
    assert report["count"] == 6 and report["correct"] == 4
    assert report["accuracy"] == round(4 / 6, 4)
    assert report["confusion"]["present"] == {"present": 2, "absent": 1, "possible": 0}
    assert report["confusion"]["absent"] == {"present": 1, "absent": 1, "possible": 0}
    present = report["per_status"]["present"]
    assert (present["gold"], present["predicted"], present["correct"]) == (3, 3, 2)
    assert present["precision"] == present["recall"] == present["f1"] == round(2 / 3, 4)
    absent = report["per_status"]["absent"]
    assert (absent["precision"], absent["recall"], absent["f1"]) == (0.5, 0.5, 0.5)
    assert report["per_status"]["possible"]["f1"] == 1.0
    assert report["macro_f1"] == round((round(2 / 3, 4) + 0.5 + 1.0) / 3, 4)


def test_a_status_never_predicted_scores_zero_not_an_error():
    report = assertion_report(["possible", "present"], ["present", "present"])
    assert report["per_status"]["possible"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                                "gold": 1, "predicted": 0, "correct": 0}
    assert report["per_status"]["absent"]["gold"] == 0
    assert assertion_report([], [])["accuracy"] == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        assertion_report(["present", "absent"], ["present"])
    with pytest.raises(ValueError, match="unknown assertion status 'negated'"):
        assertion_report(["present"], ["negated"])
