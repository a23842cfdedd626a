"""bench/baseline.py at 4 notes: one predict per window and question, one write per triple."""
from __future__ import annotations

import json

import pytest

import baseline


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow


def test_baseline_extracts_and_writes_triple_by_triple(shipped_models, bench_notes, tmp_path):
    out = tmp_path / "baseline.json"
    baseline.main(["--input", str(bench_notes), "--json", str(out)])
    f = json.loads(out.read_text(encoding="utf-8"))
    assert f["documents"] == 4
    assert f["windows"] >= f["documents"]
    assert f["span_questions"] > 0  # turn 1 for every predicate found, turn 2 for every subject
    assert f["triples"] > 0  # written into the embedded FalkorDB, one statement each
    assert f["seconds"] > 0
    assert f["documents_per_s"] == pytest.approx(f["documents"] / f["seconds"], rel=0.05)

