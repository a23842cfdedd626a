"""The Neo4j writer through the official driver: against FalkorDB's Bolt listener always, and a
real Neo4j 5 when NEO4J_TEST_URI is set. Bolt-listener runs keep batches small (<= 50 short rows)
and skip, with the reason, what that listener cannot do (conftest.BOLT_DEFECTS)."""
from __future__ import annotations

import pytest

from etl.config import Neo4jSettings
from etl.errors import SinkError
from etl.graph.neo4j_sink import Neo4jSink

from . import assertion_cases
from .conftest import doc, ev, snapshot

DOCS = [doc("d1", "h1", section="现病史"), doc("d2", "h2")]
ROWS = [
    ev("d1", "糖尿病", "临床表现", "多饮", 0.9, 0),
    ev("d1", "糖尿病", "临床表现", "多尿", 0.8, 10),
    ev("d1", "糖尿病", "药物治疗", "二甲双胍", 0.7, 20),
    ev("d2", "糖尿病", "临床表现", "多饮", 0.6, 0),
    ev("d2", "高血压", "临床表现", "头痛", 0.5, 5),
]


@pytest.fixture
def make_sink(neo4j_target, schema):
    sinks = []

    def make(batch_size: int = 2) -> Neo4jSink:
        sink = Neo4jSink(schema, neo4j_target.settings, batch_size)
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.close()
        neo4j_target.after_close()


def edges(sink):
    return {(r["s"], r["t"], r["o"]): (r["n"], r["best"], r["mean"]) for r in sink.query(
        "MATCH (s:Entity)-[r]->(o:Entity) RETURN s.name AS s, type(r) AS t, o.name AS o, "
        "r.evidence_count AS n, r.best_score AS best, r.mean_score AS mean")}


def test_writes_in_small_batches_and_rewrites_identically(make_sink):
    sink = make_sink(batch_size=2)  # several UNWIND chunks per group
    stats = sink.write_documents(DOCS, ROWS, run_id="r1")
    assert stats.evidence == 5 and stats.documents == 2
    first = snapshot(sink)
    sink.write_documents(DOCS, ROWS, run_id="r1")
    assert snapshot(sink) == first
    assert edges(sink) == {("糖尿病", "HAS_SYMPTOM", "多饮"): (2, 0.9, 0.75),
                           ("糖尿病", "HAS_SYMPTOM", "多尿"): (1, 0.8, 0.8),
                           ("糖尿病", "TREATED_WITH_DRUG", "二甲双胍"): (1, 0.7, 0.7),
                           ("高血压", "HAS_SYMPTOM", "头痛"): (1, 0.5, 0.5)}
    counts = sink.stats()
    assert counts["Evidence"] == 5 and counts["Document"] == 2 and counts["Disease"] == 2


def test_changed_document_replaces_its_evidence(make_sink):
    sink = make_sink()
    sink.write_documents(DOCS, ROWS, run_id="r1")
    sink.write_documents([doc("d1", "h1b")], [ev("d1", "糖尿病", "临床表现", "乏力", 0.4, 0)], run_id="r2")
    assert edges(sink) == {("糖尿病", "HAS_SYMPTOM", "多饮"): (1, 0.6, 0.6),
                           ("糖尿病", "HAS_SYMPTOM", "乏力"): (1, 0.4, 0.4),
                           ("高血压", "HAS_SYMPTOM", "头痛"): (1, 0.5, 0.5)}
    names = {r["n"] for r in sink.query("MATCH (n:Entity) RETURN n.name AS n")}
    assert "二甲双胍" not in names and "多尿" not in names


def test_only_asserted_evidence_makes_typed_relationships(make_sink):
    assertion_cases.check_only_asserted_evidence_makes_relationships(make_sink())


def test_a_later_denial_counts_on_the_existing_edge(make_sink):
    assertion_cases.check_a_later_denial_counts_on_the_existing_edge(make_sink())


def test_a_finding_flipping_present_absent_present_loses_and_regains_its_edge(make_sink, neo4j_target):
    def fresh():
        neo4j_target.reset()  # one database per target: the comparison graph replaces the first
        return make_sink()
    assertion_cases.check_flips_remove_and_restore_relationships(make_sink(), fresh)


def test_ledger_and_run_record(make_sink):
    from etl.graph import RunRecord

    sink = make_sink()
    assert sink.known_documents(["d1"]) == {}
    sink.start_run(RunRecord("r1", "2026-11-21T10:00:00"))
    sink.write_documents(DOCS, ROWS, run_id="r1")
    sink.finish_run(RunRecord("r1", "2026-11-21T10:00:00", "2026-11-21T10:01:00", "ok", {"documents": 2}))
    known = sink.known_documents(["d1", "d2", "d3"])
    assert {k: v.content_hash for k, v in known.items()} == {"d1": "h1", "d2": "h2"}
    assert known["d1"].model_versions == {"relation": "rel-1", "spans": "span-1"}
    assert sink.query("MATCH (r:Run) RETURN r.status AS s, r.count_documents AS n") == [{"s": "ok", "n": 2}]


def test_names_with_backticks_braces_newlines_and_emoji(make_sink):
    # Single quotes and long strings are covered below on stores that take them.
    odd = ["back`tick` }) DETACH DELETE n //", "}]->(x) MATCH (n) DELETE n", "two\nlines", "emoji 😷💊"]
    sink = make_sink()
    sink.write_documents([doc("d1")], [ev("d1", name, "临床表现", f"s{i}", 0.5, i * 10)
                                        for i, name in enumerate(odd)], run_id="r1")
    forms = sorted(f for r in sink.query("MATCH (n:Disease) RETURN n.surface_forms AS f") for f in r["f"])
    assert forms == sorted(odd)


def test_quotes_and_long_strings(make_sink, neo4j_target):
    neo4j_target.skip_if_lacks("quotes_and_size")
    names = ["it's \"quoted\"", "\\escaped\\' $param {a: 1}", "长" * 5000]
    sink = make_sink(batch_size=100)
    sink.write_documents([doc("d1", "h'1")], [ev("d1", n, "临床表现", f"s{i}", 0.5, i * 10)
                                               for i, n in enumerate(names)], run_id="r'1")
    forms = sorted(f for r in sink.query("MATCH (n:Disease) RETURN n.surface_forms AS f") for f in r["f"])
    assert forms == sorted(names)
    assert sink.known_documents(["d1"])["d1"].content_hash == "h'1"


def test_schema_setup(make_sink, neo4j_target):
    neo4j_target.skip_if_lacks("schema")
    sink = make_sink()
    statements = sink.init_schema()
    assert any("CREATE CONSTRAINT disease_name_key IF NOT EXISTS" in s for s in statements)
    sink.init_schema()  # repeatable


def test_failed_batch_rolls_back(make_sink, neo4j_target):
    neo4j_target.skip_if_lacks("transactions")
    sink = make_sink()
    sink.write_documents(DOCS[:1], ROWS[:3], run_id="r0")
    before = snapshot(sink)
    real_runner = sink._runner

    def failing_runner(tx):
        run = real_runner(tx)

        def wrapped(statement):
            if statement.name == "write ledger":
                raise RuntimeError("killed before the ledger")
            return run(statement)
        return wrapped

    sink._runner = failing_runner
    with pytest.raises(RuntimeError):
        sink.write_documents(DOCS, ROWS, run_id="r1")
    sink._runner = real_runner
    assert snapshot(sink) == before  # all or nothing


def test_unreachable_server_gives_a_clear_error_without_the_password(schema, monkeypatch):
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-pass")
    settings = Neo4jSettings(uri="bolt://127.0.0.1:1", connection_timeout=2.0, max_retry_time=1.0)
    with pytest.raises(SinkError) as failure:
        Neo4jSink(schema, settings, 10)
    assert "cannot reach Neo4j at bolt://127.0.0.1:1" in str(failure.value)
    assert "s3cret" not in str(failure.value)
