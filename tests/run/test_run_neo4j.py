"""End to end into a real Neo4j 5.26: `etl run --sink neo4j` over the shared CCKS notes with the
shipped demo models. A rerun adds nothing; a run killed with SIGKILL and started again ends with
the graph an uninterrupted run wrote."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.errors import EXIT_OK
from tests.run.test_run import RUN_PROPS, settings_file, write_notes

# Every second note of the shared file (599 of 1,198): long enough to kill a run in the middle of
# its writes, short enough for CI (the whole file is the same code on twice the rows).
STEP = 2


@pytest.fixture(scope="module")
def shared_notes(shared_data):
    rows = pq.read_table(shared_data / "notes" / "ccks2017_notes.parquet").to_pylist()
    return rows[::STEP]


@pytest.fixture
def neo4j_env(neo4j_server, monkeypatch):
    """The session's Neo4j, emptied, reachable through the settings `etl` reads from the environment."""
    neo4j_server.reset()
    env = neo4j_server.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def etl(config, *args):
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def counts(target) -> dict:
    rows = target.execute("MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n")
    out = {f"nodes:{r['label']}": r["n"] for r in rows}
    rows = target.execute("MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS n")
    out.update({f"rels:{r['t']}": r["n"] for r in rows})
    return out


def graph(target) -> dict:
    """Entities, typed edges, evidence and documents, each by its identity (run ids left out)."""
    def props(value: dict) -> dict:
        return {k: v for k, v in value.items() if k not in RUN_PROPS}

    return {
        "entities": {(tuple(sorted(r["labels"])), r["p"]["name"]): props(r["p"]) for r in target.execute(
            "MATCH (n:Entity) RETURN labels(n) AS labels, properties(n) AS p")},
        "edges": {(r["a"], r["t"], r["b"]): props(r["p"]) for r in target.execute(
            "MATCH (a:Entity)-[r]->(b:Entity) RETURN a.name AS a, type(r) AS t, b.name AS b, properties(r) AS p")},
        "evidence": {r["p"]["key"]: {**props(r["p"]), "doc": r["doc"], "s": r["s"], "o": r["o"]}
                     for r in target.execute(
                         "MATCH (d:Document)-[:HAS_EVIDENCE]->(e:Evidence)-[:SUBJECT]->(s), (e)-[:OBJECT]->(o) "
                         "RETURN d.doc_id AS doc, properties(e) AS p, s.name AS s, o.name AS o")},
        "documents": {r["p"]["doc_id"]: props(r["p"]) for r in target.execute(
            "MATCH (d:Document) RETURN properties(d) AS p")},
    }


# Scores come from the models, and a resumed run batches the remaining notes differently: the same
# window can be padded to another length, which moves a score in its last digits (float noise).
SCORE_TOLERANCE = 1e-3


def differences(got: dict, expected: dict) -> tuple[dict, float]:
    """What differs between two graph() results (identities and values exactly, scores within
    SCORE_TOLERANCE), and the largest score difference seen."""
    out, largest = {}, 0.0
    for part in expected:
        extra, missing = sorted(set(got[part]) - set(expected[part])), sorted(set(expected[part]) - set(got[part]))
        if extra or missing:
            out[part] = {"extra": extra[:3], "missing": missing[:3]}
            continue
        for key, want in expected[part].items():
            have = got[part][key]
            for name in sorted(set(want) | set(have)):
                a, b = have.get(name), want.get(name)
                if name == "score_micros" and isinstance(a, int) and isinstance(b, int):
                    a, b = a / 1e6, b / 1e6  # the scores' sum in millionths: the same noise, summed
                    if abs(a - b) <= SCORE_TOLERANCE * max(1, want.get("evidence_count") or 1):
                        continue
                if isinstance(a, float) and isinstance(b, float) and "score" in name:
                    largest = max(largest, abs(a - b))
                    if abs(a - b) <= SCORE_TOLERANCE:
                        continue
                if a != b:
                    out.setdefault(part, []).append((key, name, a, b))
    return {part: value[:5] if isinstance(value, list) else value for part, value in out.items()}, largest


def test_run_into_neo4j_rerun_adds_nothing_and_a_killed_run_resumes(tmp_path, models, shared_notes,  # noqa: F811
                                                                     neo4j_server, neo4j_env):
    config = settings_file(tmp_path, models)
    source = write_notes(tmp_path / "notes.parquet", shared_notes)

    # 1. An uninterrupted run.
    first = etl(config, "run", "--input", str(source), "--sink", "neo4j")
    assert first.exit_code == EXIT_OK, first.output
    report = json.loads(max((tmp_path / "reports").glob("run-*.json"), key=os.path.getmtime).read_text())
    assert report["sink"] == "neo4j" and report["rows_read"] == len(shared_notes)
    assert report["documents_extracted"] == len(shared_notes) and report["triples"] > 100
    expected, before = graph(neo4j_server), counts(neo4j_server)
    assert before["nodes:Document"] == len(shared_notes)
    assert before["nodes:Evidence"] == report["triples"] == len(expected["evidence"])
    assert len(expected["edges"]) > 100
    assert before["nodes:Run"] == 1

    # 2. A rerun skips every document and adds 0 nodes and 0 relationships (but its own :Run record).
    second = etl(config, "run", "--input", str(source), "--sink", "neo4j")
    assert second.exit_code == EXIT_OK, second.output
    after = counts(neo4j_server)
    assert after == {**before, "nodes:Run": 2}
    assert graph(neo4j_server) == expected  # the same run's values: exactly

    # 3. From an empty database: a run killed with SIGKILL once part of the input is written,
    #    then started again, ends with the same graph.
    neo4j_server.reset()
    killed_dir = tmp_path / "killed"
    killed_dir.mkdir()
    killed = settings_file(killed_dir, models)
    command = [sys.executable, "-m", "etl.cli", "--config", str(killed), "run", "--input", str(source),
               "--sink", "neo4j"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, **neo4j_env, "PYTHONUNBUFFERED": "1"})
    written = 0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and child.poll() is None:
        written = neo4j_server.execute("MATCH (d:Document) WHERE d.content_hash IS NOT NULL "
                                       "RETURN count(d) AS n")[0]["n"]
        if written >= len(shared_notes) // 4:
            break
        time.sleep(0.2)
    assert child.poll() is None, "the run finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    partial = counts(neo4j_server)
    assert 0 < written <= partial["nodes:Document"] and partial.get("nodes:Evidence", 0) < before["nodes:Evidence"]

    resumed = etl(killed, "run", "--input", str(source), "--sink", "neo4j")
    assert resumed.exit_code == EXIT_OK, resumed.output
    report = json.loads(max((killed_dir / "reports").glob("run-*.json"), key=os.path.getmtime).read_text())
    assert report["documents_skipped"] >= written  # what the killed run had finished is not redone
    found, largest = differences(graph(neo4j_server), expected)
    assert found == {}, f"largest score difference {largest}"
