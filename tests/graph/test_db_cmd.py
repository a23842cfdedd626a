"""`etl db stats` against a private FalkorDB (its own data folder): counts, Evidence by assertion."""
from __future__ import annotations

import json

from click.testing import CliRunner

from etl.cli import cli
from etl.config import load_settings
from etl.graph import open_sink

from .conftest import doc, ev


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
