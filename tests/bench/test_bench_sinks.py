"""bench/bench_sinks.py at 40 and 80 synthetic triples: both sinks, first write, rewrite, a sweep."""
from __future__ import annotations

import json
import math
import re

import pytest

import bench_sinks


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow

KEYS = {"store", "triples", "phase", "unwind_rows", "docs_per_write", "seconds", "triples_per_s", "us_per_triple",
        "client_cpu_s", "server_cpu_s", "triples_per_cpu_s", "load_average"}


def run(tmp_path, capsys, *args: str) -> tuple[list[dict], str]:
    out = tmp_path / "sinks.json"
    assert bench_sinks.main(["--sizes", "40,80", "--docs-per-batch", "1", "--json", str(out), *args]) == 0
    return json.loads(out.read_text(encoding="utf-8"))["results"], capsys.readouterr().out


def check(rows: list[dict], printed: str, store: str) -> None:
    assert [(r["triples"], r["phase"]) for r in rows[:3]] == [(40, "first write"), (40, "rewrite"),
                                                             (80, "first write")]
    for r in rows:
        assert set(r) == KEYS and r["store"] == store
        assert r["seconds"] >= 0 and r["triples_per_s"] > 0 and r["us_per_triple"] > 0
        assert r["client_cpu_s"] >= 0
    # What each write left: every triple an Evidence node (the rewrite replaced, not added).
    assert re.findall(r"graph: \d+ nodes \((\d+) evidence\)", printed)[:2] == ["40", "80"]


def test_falkordb(tmp_path, capsys):
    rows, printed = run(tmp_path, capsys, "--stores", "falkordb", "--sweep", "40")
    check(rows, printed, "falkordb")
    assert all(r["server_cpu_s"] >= 0 for r in rows)  # the private server's CPU, read from /proc
    sweep = rows[3]  # --sweep 40: UNWIND batches of 40 rows, writes of 40 / 20 = 2 documents
    assert (sweep["triples"], sweep["unwind_rows"], sweep["docs_per_write"]) == (40, 40, 2)
    assert "falkordb: per-triple cost at 80 / at 40" in printed


def test_neo4j(neo4j_server, tmp_path, capsys, monkeypatch):
    """Against the session's Neo4j (the bench's NEO4J_TEST_URI route; its database is emptied)."""
    monkeypatch.setenv("NEO4J_TEST_URI", neo4j_server.uri)
    monkeypatch.setenv("NEO4J_TEST_USER", neo4j_server.user)
    monkeypatch.setenv("NEO4J_TEST_DATABASE", neo4j_server.database)
    monkeypatch.setenv("NEO4J_TEST_PASSWORD", neo4j_server.password or "")
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j_server.password or "")  # the bench sets it; restored after
    rows, printed = run(tmp_path, capsys, "--stores", "neo4j", "--absent", "0.25")
    check(rows, printed, "neo4j")
    assert all(math.isnan(r["server_cpu_s"]) and r["triples_per_cpu_s"] is None for r in rows)  # not our process
    assert f"neo4j: external Neo4j at {neo4j_server.uri}" in printed

