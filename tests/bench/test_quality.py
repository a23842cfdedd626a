"""bench/quality.py on the first 3 texts of each set: CMeIE dev both ways, EMR-RE dev end to end."""
from __future__ import annotations

import json

import pytest

import quality


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow


def scores_are_sane(micro: dict) -> None:
    assert set(micro) >= {"precision", "recall", "f1", "correct", "predicted", "gold"}
    assert 0 <= micro["correct"] <= min(micro["predicted"], micro["gold"])
    assert micro["gold"] > 0
    for name in ("precision", "recall", "f1"):
        assert 0.0 <= micro[name] <= 1.0
    assert micro["recall"] == round(micro["correct"] / micro["gold"], 4)


def test_quality_scores_both_sets(shipped_models, tmp_path):
    out = tmp_path / "quality.json"
    quality.main(["--limit", "3", "--json", str(out)])
    f = json.loads(out.read_text(encoding="utf-8"))
    assert {"relation", "spans", "assertion"} <= set(f["models"])
    assert f["cmeie_models"]["texts"] == 3
    scores_are_sane(f["cmeie_models"]["strict"])
    run_path = f["cmeie_run_path"]
    assert run_path["notes"] == 3 and 0 <= run_path["notes_without_triples"] <= 3
    scores_are_sane(run_path["strict"])
    scores_are_sane(run_path["lenient"])
    assert run_path["lenient"]["correct"] >= run_path["strict"]["correct"]
    notes = f["emr_re_dev"]
    assert notes["notes"] == 3 and 0 <= notes["notes_without_triples"] <= 3
    scores_are_sane(notes["strict"])
    assert notes["lenient"]["correct"] >= notes["strict"]["correct"]
    main = notes["main_condition"]
    assert main["notes"] == 3 and main["annotated"] <= 3 and main["equal_to_annotation"] <= main["found"] <= 3
    assert all(0.0 <= f1 <= 1.0 for f1 in notes["per_predicate_strict_f1"].values())

