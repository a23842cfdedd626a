"""bench/floor.py at 3 notes: the models' forward passes over what a run asks of them."""
from __future__ import annotations

import json

import pytest

import floor


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow


def test_floor_times_the_passes_a_run_asks_for(shipped_models, bench_notes, tmp_path):
    out = tmp_path / "floor.json"
    floor.main(["--input", str(bench_notes), "--rows", "3", "--json", str(out)])
    f = json.loads(out.read_text(encoding="utf-8"))
    assert f["documents"] == 3  # --rows: the first 3 of the 4 notes
    assert f["windows"] >= f["documents"]  # notes of 250-600 characters: several windows each
    assert f["span_questions"] > 0  # the main-condition question, then the two turns
    assert f["mentions"] > 0
    assert f["assertion_decision"] in ("model", "gated", "rules")
    assert 0 <= f["mentions_through_the_classifier"] <= f["mentions"]
    parts = f["relation_seconds"] + f["span_seconds"] + f["assertion_seconds"]
    assert f["total_seconds"] > 0 and f["total_seconds"] == pytest.approx(parts, abs=0.02)
    assert f["documents_per_s"] == pytest.approx(f["documents"] / f["total_seconds"], rel=0.1)
    assert f["windows_per_s"] / f["documents_per_s"] == pytest.approx(f["windows"] / f["documents"], rel=0.01)

