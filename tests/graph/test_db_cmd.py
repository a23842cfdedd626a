"""`etl db stats` against a private FalkorDB (its own data folder): counts, Evidence by assertion."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.config import load_settings
from etl.graph import open_sink
from etl.graph.statements import Statement

from .conftest import doc, ev


# starts or talks to a real FalkorDB or Neo4j: `make test` only, not `make check`
pytestmark = pytest.mark.server


def test_db_stats_counts_evidence_by_assertion(tmp_path):
    data = str(tmp_path / "db")
    with open_sink(load_settings(None, {"graph.falkordb.data_dir": data}).graph) as sink:
        sink.write_documents([doc("n1")], [
            ev("n1", "糖尿病", "临床表现", "多饮", 0.9, 0),
            ev("n1", "糖尿病", "临床表现", "多尿", 0.8, 10),
            ev("n1", "糖尿病", "临床表现", "恶心", 0.7, 20, object_assertion="absent"),
            ev("n1", "糖尿病", "临床表现", "发热", 0.6, 30, subject_assertion="possible", object_assertion="absent"),
            ev("n1", "糖尿病", "临床表现", "乏力", 0.5, 40, object_assertion="possible"),
        ], run_id="r1")
    base = ["--set", f"graph.falkordb.data_dir={data}", "db", "stats"]
    runner = CliRunner()
    counts = json.loads(runner.invoke(cli, base + ["--json"], catch_exceptions=False).output)
    assert (counts["Evidence"], counts["Evidence asserted"], counts["Evidence with absent end"],
            counts["Evidence with possible end"], counts["HAS_SYMPTOM"], counts["Symptom"]) == (5, 2, 2, 1, 2, 5)
    lines = runner.invoke(cli, base, catch_exceptions=False).output.splitlines()
    evidence = lines.index(next(line for line in lines if line.split()[0] == "Evidence"))
    assert [line.split() for line in lines[evidence:evidence + 4]] == [
        ["Evidence", "5"], ["asserted", "2"], ["with", "absent", "end", "2"], ["with", "possible", "end", "1"]]


def test_db_recount_repairs_counts_and_waits_for_a_running_write(tmp_path):
    """`etl db recount`: counts left wrong (as by a FalkorDB write cut short) are recounted from
    the evidence; while an `etl run` holds the store's run lock it exits 5 and touches nothing."""
    from etl.errors import EXIT_LOCKED
    from etl.graph import store_target
    from etl.lock import RunLock

    overrides = {"graph.falkordb.data_dir": str(tmp_path / "db"), "run.reports_dir": str(tmp_path / "reports")}
    settings = load_settings(None, overrides)
    with open_sink(settings.graph) as sink:
        sink.write_documents([doc("n1"), doc("n2")], [
            ev("n1", "糖尿病", "临床表现", "多饮", 0.9, 0),
            ev("n2", "糖尿病", "临床表现", "多饮", 0.7, 0),
            ev("n2", "糖尿病", "临床表现", "恶心", 0.6, 10, object_assertion="absent"),
        ], run_id="r1")
        sink.query("MATCH ()-[r:HAS_SYMPTOM]->() RETURN r")  # the server is up
        sink.write_statements([Statement("break", "MATCH (n:Entity) SET n.evidence_count = 9 WITH n "
                                                  "MATCH (n)-[r:HAS_SYMPTOM]->() SET r.evidence_count = 9")])
    base = [arg for key, value in overrides.items() for arg in ("--set", f"{key}={value}")] + ["db", "recount"]
    runner = CliRunner()
    with RunLock(settings.run.reports_dir, store_target(settings.graph, "falkordb")).acquire("a-run"):
        locked = runner.invoke(cli, base)
    assert locked.exit_code == EXIT_LOCKED and "another etl run" in locked.output
    result = runner.invoke(cli, base, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "recounted 1 relationship(s) (0 deleted" in result.output
    assert "and 3 entities (0 deleted" in result.output
    with open_sink(settings.graph) as sink:
        assert sink.query("MATCH (s)-[r:HAS_SYMPTOM]->(o) RETURN r.evidence_count AS n, r.absent_count AS a") == [
            {"n": 2, "a": 0}]
        assert {r["name"]: r["c"] for r in sink.query("MATCH (n:Entity) RETURN n.name AS name, "
                                                       "n.evidence_count AS c")} == {"糖尿病": 3, "多饮": 2, "恶心": 1}


def test_read_only_commands_never_create_a_store(tmp_path):
    """issue 30: `etl db stats` / `etl query` on a data folder that does not exist (a typo) created
    a new store and answered with an empty graph, exit 0. Now exit 1 naming the folder and the
    setting, nothing created; `etl doctor` warns that there is no store yet (a fresh machine);
    the writers (`etl db init`) still create it, and then the readers answer."""
    data = tmp_path / "typo"
    base = ["--set", f"graph.falkordb.data_dir={data}"]
    runner = CliRunner()
    for command in (["db", "stats"], ["query", "top_relationships"]):
        result = runner.invoke(cli, base + command)
        assert result.exit_code == 1, result.output
        assert f"no graph store in {data} (graph.falkordb.data_dir)" in result.output
    doctor = runner.invoke(cli, base + ["doctor"])
    assert re.search(r"\nwarn\s+graph\s+.*no store yet", "\n" + doctor.output)
    assert re.search(r"\n\S+\s+graph schema\s+no store yet", "\n" + doctor.output)
    assert not data.exists()
    assert runner.invoke(cli, base + ["db", "init", "--sink", "falkordb"]).exit_code == 0
    counts = json.loads(runner.invoke(cli, base + ["db", "stats", "--json"], catch_exceptions=False).output)
    assert counts.get("Evidence", 0) == 0


def test_a_store_that_lost_its_manifest_is_refused_and_the_named_lines_restore_it(tmp_path):
    """issue 30: with appendonlydir/appendonly.aof.manifest deleted the store opened empty (etl db
    stats: an empty graph, exit 0) and the next run wrote everything again: every evidence count
    doubled. Now every command that opens it stops with exit 1 naming the manifest and the lines
    that restore it, starts nothing, and those lines give back the graph as it was."""
    import re

    data = tmp_path / "db"
    with open_sink(load_settings(None, {"graph.falkordb.data_dir": str(data)}).graph) as sink:
        sink.write_documents([doc("n1")], [ev("n1", "糖尿病", "临床表现", "多饮", 0.9, 0)], run_id="r1")
    base = ["--set", f"graph.falkordb.data_dir={data}"]
    runner = CliRunner()
    before = runner.invoke(cli, base + ["db", "stats", "--json"], catch_exceptions=False).output
    manifest = data / "appendonlydir" / "appendonly.aof.manifest"
    manifest.unlink()
    for command in (["db", "stats"], ["db", "init", "--sink", "falkordb"], ["query", "top_relationships"]):
        result = runner.invoke(cli, base + command)
        assert result.exit_code == 1 and "lost its append-only manifest" in result.output, (command, result.output)
    assert not manifest.exists()
    lines = re.search(r"write these lines to it: (.*)$", result.output.strip()).group(1).split(" | ")
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert runner.invoke(cli, base + ["db", "stats", "--json"], catch_exceptions=False).output == before
