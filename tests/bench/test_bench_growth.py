"""bench/bench_growth.py at 200 and 400 synthetic triples: per-triple cost in two graphs, in turn."""
from __future__ import annotations

import json

import pytest

import bench_growth


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow


def test_growth_of_two_graphs_written_in_turn(tmp_path):
    out = tmp_path / "growth.json"
    bench_growth.main(["--sizes", "200,400", "--rounds", "2", "--docs-per-write", "2", "--json", str(out)])
    f = json.loads(out.read_text(encoding="utf-8"))
    assert [r["graph_triples"] for r in f["rows"]] == [200, 400]
    for r in f["rows"]:
        assert r["timed_triples"] == 2 * 2 * 20  # rounds x documents per write x 20 triples
        assert r["wall_us_per_triple"] > 0 and r["client_us_per_triple"] >= 0 and r["server_us_per_triple"] >= 0
    small, large = f["rows"]
    assert f["ratios"]["wall"] == round(large["wall_us_per_triple"] / small["wall_us_per_triple"], 2)
    assert set(f["ratios"]) == {"wall", "client", "server", "cpu"}
    assert f["args"]["docs_per_write"] == 2
