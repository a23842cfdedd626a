"""bench/end_to_end.py at 4 notes: `etl run` in a subprocess against the floor measured first, and
the assertion stage's cost (one pair of runs without and with it)."""
from __future__ import annotations

import json

import pytest

import end_to_end


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow


def test_end_to_end_against_the_floor_and_the_assertion_cost(shipped_models, bench_notes, tmp_path):
    out = tmp_path / "e2e.json"
    end_to_end.main(["--input", str(bench_notes), "--measure-floor", "--assertion-cost", "1", "--json", str(out)])
    f = json.loads(out.read_text(encoding="utf-8"))
    assert f["exit_code"] == 0
    assert f["documents"] == 4 and f["windows"] >= 4
    assert f["span_queries"] > 0 and f["triples"] > 0
    assert 0 <= f["triples_asserted"] <= f["triples"]
    assert {"relation", "spans", "assertion"} <= set(f["model_versions"])
    assert {"relations", "spans", "write"} <= set(f["stage_seconds"])
    assert f["wall_seconds_process"] > f["pipeline_seconds"] > 0  # the process also imports and loads
    assert f["throughput"]["documents_per_s"] == pytest.approx(f["documents"] / f["pipeline_seconds"], rel=0.05)
    # The floor ran on the same input, first, in the same invocation.
    assert f["floor"]["documents"] == f["documents"] and f["floor"]["windows"] == f["windows"]
    assert f["floor_documents_per_s"] == f["floor"]["documents_per_s"] > 0
    assert f["ratio_to_floor"] == pytest.approx(f["throughput"]["documents_per_s"] / f["floor_documents_per_s"],
                                                abs=0.002)
    cost = f["assertion_cost"]
    assert cost["pairs"] == 1
    assert [len(cost["process_seconds"][k]) for k in ("without", "with")] == [1, 1]
    ratio = cost["process_seconds"]["with"][0] / cost["process_seconds"]["without"][0]
    assert cost["process_ratio_with_to_without"] == pytest.approx(ratio, abs=0.001)
    assert cost["pipeline_ratio_with_to_without"] > 0


def test_floor_options_exclude_each_other(bench_notes, tmp_path):
    with pytest.raises(SystemExit, match="exclude each other"):
        end_to_end.main(["--input", str(bench_notes), "--measure-floor", "--floor", str(tmp_path / "f.json")])
