"""The write protocol on both stores: every test runs against a real FalkorDB (native protocol)
and a real Neo4j 5.26 (the official driver), through the `store` fixture (conftest.py)."""
from __future__ import annotations

import gc
import re
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from neo4j.exceptions import SessionExpired

from etl.cli import cli
from etl.errors import EXIT_SINK, SinkError
from etl.graph.batch import InvalidEvidence
from etl.graph.records import RunRecord
from etl.graph.falkordb.sink import FalkorDBSink
from etl.graph.names import name_key, normalize_name
from etl.graph.neo4j.sink import Neo4jSink
from etl.graph.statements import Statement

from . import assertion_cases
from .conftest import doc, ev, falkordb_settings, snapshot

ROOT = Path(__file__).resolve().parents[2]
BATCH = [doc("d1", "h1", section="现病史"), doc("d2", "h2"), doc("d3", "h3")]
EVIDENCE = [
    ev("d1", "2型糖尿病", "临床表现", "多饮", 0.9, 0),
    ev("d1", "2型糖尿病", "临床表现", "多尿", 0.8, 10),
    ev("d1", "2型糖尿病", "药物治疗", "二甲双胍", 0.7, 20),
    ev("d2", "2型糖尿病", "临床表现", "多饮", 0.6, 0),
    ev("d2", "2型糖尿病", "并发症", "糖尿病肾病", 0.95, 5),
    ev("d3", "糖尿病肾病", "临床表现", "蛋白尿", 0.85, 0),
]
OLD = [doc("d1", "h1-old", section="现病史"), doc("d2", "h2-old"), doc("d3", "h3-old")]


def edges(sink):
    return {(r["s"], r["t"], r["o"]): r for r in sink.query(
        "MATCH (s:Entity)-[r]->(o:Entity) RETURN s.name AS s, type(r) AS t, o.name AS o, "
        "r.evidence_count AS n, r.doc_count AS docs, r.best_score AS best, r.mean_score AS mean, "
        "r.first_run AS first, r.last_run AS last, r.predicate AS predicate")}


def aggregates(sink):
    """Edges with their evidence aggregates (not the run ids, which depend on history)."""
    return {k: {f: v for f, v in r.items() if f not in ("first", "last")} for k, r in edges(sink).items()}


def entity_counts(sink) -> dict:
    return {(r["name"], tuple(sorted(r["labels"]))): (r["c"], r["a"]) for r in sink.query(
        "MATCH (n:Entity) RETURN n.name AS name, labels(n) AS labels, "
        "n.evidence_count AS c, n.asserted_count AS a")}


def clean_state(store, documents=BATCH, evidence=EVIDENCE) -> tuple[dict, int]:
    """Aggregates and evidence count of the batch written once to an empty graph."""
    sink = store.make()
    sink.write_documents(documents, evidence, run_id="r1")
    return aggregates(sink), sink.stats()["Evidence"]


def test_write_twice_gives_identical_graph_and_right_aggregates(store):
    sink = store.make()
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    first = snapshot(sink)
    stats = sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    assert snapshot(sink) == first
    assert stats.evidence == 6 and stats.evidence_removed == 6
    e = edges(sink)
    assert set(e) == {("2型糖尿病", "HAS_SYMPTOM", "多饮"), ("2型糖尿病", "HAS_SYMPTOM", "多尿"),
                      ("2型糖尿病", "TREATED_WITH_DRUG", "二甲双胍"),
                      ("2型糖尿病", "HAS_COMPLICATION", "糖尿病肾病"), ("糖尿病肾病", "HAS_SYMPTOM", "蛋白尿")}
    thirst = e[("2型糖尿病", "HAS_SYMPTOM", "多饮")]
    assert (thirst["n"], thirst["docs"], thirst["best"], thirst["mean"]) == (2, 2, 0.9, 0.75)
    assert thirst["predicate"] == "临床表现" and thirst["first"] == thirst["last"] == "r1"
    counts = {r["name"]: r["c"] for r in sink.query(
        "MATCH (n:Entity) RETURN n.name AS name, n.evidence_count AS c")}
    assert counts["2型糖尿病"] == 5 and counts["糖尿病肾病"] == 2 and counts["蛋白尿"] == 1
    stats = sink.stats()
    assert stats["Document"] == 3 and stats["Evidence"] == 6 and stats["HAS_SYMPTOM"] == 3


def test_a_later_run_with_the_same_batch_only_moves_last_run(store):
    sink = store.make()
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    sink.write_documents(BATCH, EVIDENCE, run_id="r2")
    thirst = edges(sink)[("2型糖尿病", "HAS_SYMPTOM", "多饮")]
    assert (thirst["n"], thirst["first"], thirst["last"]) == (2, "r1", "r2")


def test_changed_document_replaces_its_evidence(store):
    sink = store.make()
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
    replaced = snapshot(sink)
    # The same graph as writing the final state from scratch, in the same runs.
    fresh = store.make()
    fresh.write_documents(BATCH[1:], EVIDENCE[3:], run_id="r1")
    fresh.write_documents([doc("d1", "h1-changed", section="现病史")], new_d1, run_id="r2")
    assert snapshot(fresh) == replaced


def test_document_losing_all_evidence_keeps_its_ledger(store):
    sink = store.make()
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    sink.write_documents([doc("d3", "h3b")], [], run_id="r2")
    assert ("糖尿病肾病", "HAS_SYMPTOM", "蛋白尿") not in edges(sink)
    assert sink.known_documents(["d3"])["d3"].content_hash == "h3b"
    assert sink.query("MATCH (d:Document {doc_id: 'd3'}) RETURN d.evidence_count AS n") == [{"n": 0}]


def test_only_asserted_evidence_makes_typed_relationships(store):
    assertion_cases.check_only_asserted_evidence_makes_relationships(store.make())


def test_a_later_denial_counts_on_the_existing_edge(store):
    assertion_cases.check_a_later_denial_counts_on_the_existing_edge(store.make())


def test_a_finding_flipping_present_absent_present_loses_and_regains_its_edge(store):
    assertion_cases.check_flips_remove_and_restore_relationships(store.make(), store.make)


def test_unknown_assertion_values_are_refused(store):
    sink = store.make()
    bad = [({"subject_assertion": "negated"}, "subject_assertion 'negated' is not one of present, absent, possible"),
           ({"object_assertion": "Present"}, "object_assertion 'Present' is not one of"),
           ({"object_assertion": None}, "object_assertion None is not one of"),
           ({"subject_experiencer": "father"}, "subject_experiencer 'father' is not one of patient, family"),
           ({"object_historical": "yes"}, "object_historical 'yes' is not true or false"),
           ({"assertion_model": None}, "assertion_model None is not text")]
    for fields, message in bad:
        with pytest.raises(InvalidEvidence, match=f"document 'd1': {re.escape(message)}"):
            sink.write_documents([doc("d1")], [ev("d1", "糖尿病", "临床表现", "多饮", **fields)], run_id="r1")
    assert sink.stats().get("Evidence", 0) == 0


def test_ledger_lookup(store):
    sink = store.make()
    assert sink.known_documents(["d1"]) == {}
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    known = sink.known_documents(["d1", "d2", "nope"])
    assert set(known) == {"d1", "d2"}
    assert known["d1"].content_hash == "h1"
    assert known["d1"].model_versions == {"relation": "rel-1", "spans": "span-1"}
    meta = sink.query("MATCH (d:Document {doc_id: 'd1'}) RETURN d.meta_section AS s, d.source_file AS f")
    assert meta == [{"s": "现病史", "f": "notes.parquet"}]


def test_overlapping_windows_give_one_evidence_with_the_best_score(store):
    sink = store.make()
    twice = [ev("d1", "2型糖尿病", "临床表现", "多饮", 0.4, 0), ev("d1", "2型糖尿病", "临床表现", "多饮", 0.9, 0)]
    stats = sink.write_documents([doc("d1")], twice, run_id="r1")
    assert stats.evidence == 1
    assert sink.query("MATCH (e:Evidence) RETURN e.score AS s") == [{"s": 0.9}]


def test_small_and_large_batches_build_the_same_graph(store):
    many = [ev(f"d{i % 5}", f"病{i % 7}", "临床表现", f"症{i}", 0.5 + i / 100, i) for i in range(40)]
    docs = [doc(f"d{i}") for i in range(5)]
    small = store.make(batch_size=1)
    small.write_documents(docs, many, run_id="r1")
    expected = snapshot(small)
    large = store.make(batch_size=1000)
    large.write_documents(docs, many, run_id="r1")
    assert snapshot(large) == expected


INJECTIONS = [
    "it's \"quoted\"", "back`tick` }) DETACH DELETE n //", "}]->(x) MATCH (n) DELETE n",
    "line one\nline two\r\n\ttab", "emoji 😷🦠💊", "\\escaped\\' $param {a: 1}",
    "长" * 20000,  # 60 KB: far over the ~4 KB where FalkorDB's index keys and its Bolt listener broke
]


def test_injection_attempts_are_stored_verbatim(store):
    sink = store.make()
    rows = [ev("d1", name, "临床表现", f"症状{i}", 0.5, i * 10, sentence=name) for i, name in enumerate(INJECTIONS)]
    rows.append(ev("d1", "病", "临床表现", "x'`}\n😀", 0.5, 999))
    sink.write_documents([doc("d1", "h'`}", section="x'`}\n😀")], rows, run_id="run'`}")
    for name in INJECTIONS:
        found = sink.query("MATCH (n:Disease {name: $name}) RETURN n.surface_forms AS forms, "
                           "coalesce(n.full_name, n.name) AS full", {"name": name_key(normalize_name(name))})
        # The name is trimmed/NFKC-normalised (and, if huge, cut with a hash: the whole name is in
        # full_name); the surface form is the text exactly as given.
        assert found and name in found[0]["forms"], name[:40]
        assert found[0]["full"] == normalize_name(name)
        sentence = sink.query("MATCH (e:Evidence) WHERE e.subject_surface = $name RETURN e.sentence AS s",
                              {"name": name})
        assert sentence == [{"s": name}]
    odd = sink.query("MATCH (n:Symptom {name: $n}) RETURN n.surface_forms AS forms", {"n": "x'`} 😀"})
    assert odd == [{"forms": ["x'`}\n😀"]}]  # the newline folds to a space in the key only
    assert sink.known_documents(["d1"])["d1"].content_hash == "h'`}"
    assert sink.query("MATCH (d:Document) RETURN d.meta_section AS s, d.run_id AS r") == [
        {"s": "x'`}\n😀", "r": "run'`}"}]
    labels = {tuple(sorted(r["l"])) for r in sink.query("MATCH (n) RETURN DISTINCT labels(n) AS l")}
    assert labels == {("Disease", "Entity"), ("Entity", "Symptom"), ("Document",), ("Evidence",)}
    # Written twice: still identical (nothing was interpreted as Cypher).
    before = snapshot(sink)
    sink.write_documents([doc("d1", "h'`}", section="x'`}\n😀")], rows, run_id="run'`}")
    assert snapshot(sink) == before


def test_rows_the_schema_does_not_allow_are_refused(store):
    sink = store.make()
    with pytest.raises(InvalidEvidence, match="not a triple the schema allows"):
        sink.write_documents([doc("d1")], [ev("d1", "多饮", "临床表现", "糖尿病", subject_type="症状",
                                              object_type="疾病")], run_id="r1")
    with pytest.raises(InvalidEvidence, match="empty"):
        sink.write_documents([doc("d1")], [ev("d1", "  ", "临床表现", "多饮")], run_id="r1")
    with pytest.raises(InvalidEvidence, match="not in this batch"):
        sink.write_documents([doc("d1")], [ev("d9", "糖尿病", "临床表现", "多饮")], run_id="r1")
    assert sink.stats().get("Document", 0) == 0


def _lost_connection(store) -> Exception:
    if store.kind == "falkordb":
        return redis.exceptions.ConnectionError("connection reset by peer")
    return SessionExpired("connection lost")


def fail_when(when, error):
    """An intercept hook: raise error() before each statement for which when(statement) is true."""
    def hook(statement):
        if when(statement):
            raise error()
    return hook


def _nth(prefix: str, n: int):
    """A statement predicate: true from the n-th statement whose name starts with prefix."""
    seen = []

    def when(statement) -> bool:
        if statement.name.startswith(prefix):
            seen.append(statement.name)
        return len(seen) >= n
    return when


# Where the connection drops: entity counts changed, evidence not written; evidence written, no
# edge changed yet; some edges changed, others not.
CUTS = {"before evidence": ("write evidence", 1), "before edges": ("merge Disease-", 1),
        "among edges": ("merge Disease-", 2)}


@pytest.mark.parametrize("cut", sorted(CUTS))
def test_a_failed_batch_leaves_nothing_the_next_run_trusts(store, cut):
    """Neo4j rolls the whole batch back; FalkorDB (no transactions) leaves the documents out of
    the ledger and its counts half changed. Either way the next run writes them again and ends
    with the clean graph (on FalkorDB by recounting every count first)."""
    expected, expected_evidence = clean_state(store)
    sink = store.make(**({"retries": 0} if store.kind == "falkordb" else {"max_retry_time": 0.0}))
    sink.write_documents(OLD, EVIDENCE[:2], run_id="r0")  # an older state of the documents
    before = snapshot(sink)
    store.intercept(sink, fail_when(_nth(*CUTS[cut]), lambda: _lost_connection(store)))
    with pytest.raises(SinkError) as failure:
        sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    assert failure.value.exit_code == EXIT_SINK
    store.heal(sink)
    known = sink.known_documents([d.doc_id for d in BATCH])
    assert all(entry.content_hash.endswith("-old") for entry in known.values())  # never the new hash
    if store.transactional:
        assert snapshot(sink) == before  # all or nothing
    else:
        assert known == {}  # cut short: the resume will redo them
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    assert sink.stats()["Evidence"] == expected_evidence  # no partial duplicate
    assert aggregates(sink) == expected
    clean = store.make()
    clean.write_documents(BATCH, EVIDENCE, run_id="r1")
    assert entity_counts(sink) == entity_counts(clean)


def test_an_error_inside_the_batch_rolls_it_back(store):
    """Any error, not only a lost connection: on Neo4j the transaction is rolled back whole."""
    sink = store.make()
    sink.write_documents(OLD, EVIDENCE[:3], run_id="r0")
    before = snapshot(sink)
    store.intercept(sink, fail_when(lambda statement: statement.name == "write ledger",
                                    lambda: RuntimeError("killed before the ledger")))
    with pytest.raises(RuntimeError):
        sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    store.heal(sink)
    if store.transactional:
        assert snapshot(sink) == before
    else:
        assert sink.known_documents([d.doc_id for d in BATCH]) == {}


def test_the_cycle_collector_is_paused_during_a_write_only(store):
    """sink.collector_paused: off for every statement of a write, on again after it, also after
    a write that failed; left off when the caller had turned it off."""
    sink = store.make()
    seen = []
    store.intercept(sink, lambda statement: seen.append(gc.isenabled()))
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    assert seen and not any(seen)
    assert gc.isenabled()
    store.intercept(sink, fail_when(lambda statement: statement.name == "write ledger",
                                    lambda: RuntimeError("killed before the ledger")))
    with pytest.raises(RuntimeError):
        sink.write_documents(BATCH, EVIDENCE, run_id="r2")
    assert gc.isenabled()
    store.heal(sink)
    gc.disable()
    try:
        sink.write_documents(BATCH, EVIDENCE, run_id="r3")
        assert not gc.isenabled()
    finally:
        gc.enable()


def full_aggregates(sink) -> dict:
    return {(r["s"], r["t"], r["o"]): r for r in sink.query(
        "MATCH (s:Entity)-[r]->(o:Entity) RETURN s.name AS s, type(r) AS t, o.name AS o, "
        "r.evidence_count AS n, r.doc_count AS docs, r.best_score AS best, r.mean_score AS mean, "
        "r.score_micros AS micros, r.absent_count AS absent, r.possible_count AS possible")}


def test_recount_repairs_every_count_page_by_page(store):
    """`etl db recount` (CypherSink.recount): counts broken as a write cut short can leave them,
    a relationship and entities with no evidence, pending markers; pages of 2 rows."""
    sink = store.make(batch_size=2)
    evidence = EVIDENCE + [ev("d3", "2型糖尿病", "临床表现", "多饮", 0.4, 20, object_assertion="absent"),
                           ev("d3", "2型糖尿病", "临床表现", "口渴", 0.5, 30, object_assertion="possible")]
    sink.write_documents(BATCH, evidence, run_id="r1")
    expected_edges, expected_entities = full_aggregates(sink), entity_counts(sink)
    assert len(expected_edges) > 2 and len(expected_entities) > 2  # more than one page each
    breaks = [
        "MATCH (:Entity)-[r]->(:Entity) SET r.evidence_count = r.evidence_count + 5, r.doc_count = 0, "
        "r.best_score = 0.01, r.mean_score = 0.01, r.score_micros = 7, r.absent_count = 3, r.possible_count = 0",
        "MATCH (n:Entity) SET n.evidence_count = 99, n.asserted_count = 0",
        "CREATE (:Disease:Entity {name: '孤儿病', evidence_count: 2, asserted_count: 2})"
        "-[:HAS_SYMPTOM {edge_key: 'orphan', evidence_count: 2}]->"
        "(:Symptom:Entity {name: '孤儿症', evidence_count: 2, asserted_count: 2})",
        "MATCH (d:Document) SET d.pending_run = 'cut'"]
    sink.write_statements(Statement("break the counts", text) for text in breaks)
    assert full_aggregates(sink) != expected_edges and entity_counts(sink) != expected_entities
    done = sink.recount()
    assert full_aggregates(sink) == expected_edges
    assert entity_counts(sink) == expected_entities
    assert (done.edges, done.edges_pruned) == (len(expected_edges) + 1, 1)
    assert (done.entities, done.entities_pruned) == (len(expected_entities) + 2, 2)
    assert done.pending_cleared == len(BATCH)
    assert sink.query("MATCH (d:Document) WHERE d.pending_run IS NOT NULL RETURN d.doc_id AS id") == []
    sink.write_documents(BATCH, evidence, run_id="r2")  # and writes by difference carry on from there
    assert full_aggregates(sink) == expected_edges and entity_counts(sink) == expected_entities


def test_transient_errors_retry_the_whole_batch(store):
    expected = None
    if store.kind == "neo4j":
        expected = snapshot_of_clean(store)
    sink = store.make(**({"retries": 2, "retry_delay": 0.01} if store.kind == "falkordb" else {}))
    failures = []

    def twice(statement):
        if statement.name == "write ledger" and len(failures) < 2:
            failures.append(1)
            return True
        return False

    store.intercept(sink, fail_when(twice, lambda: _lost_connection(store)))
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    store.heal(sink)
    got = snapshot(sink)
    if expected is None:
        expected = snapshot_of_clean(store)
    assert len(failures) == 2 and got == expected


def snapshot_of_clean(store) -> dict:
    sink = store.make()
    sink.write_documents(BATCH, EVIDENCE, run_id="r1")
    return snapshot(sink)


def test_server_going_away_mid_batch(store, schema, tmp_path, monkeypatch):
    """The server dies while a batch is being written: a clear store error (exit code 3), the
    ledger does not claim the batch, and after a restart a rerun ends with the clean graph."""
    expected, expected_evidence = clean_state(store)
    if store.kind == "falkordb":
        settings = falkordb_settings(data_dir=tmp_path / "db", appendfsync="always")
        sink = FalkorDBSink(schema, settings, batch_size=2)  # a private server of its own
        server = sink.server
        cli_args = ["--set", f"graph.falkordb.url=unix://{server.socket_path}", "db", "stats", "--sink", "falkordb"]
    else:
        if store.target.server is None:
            pytest.skip("NEO4J_TEST_URI names an external Neo4j: the tests stop no server they did not start")
        sink = store.make(batch_size=2, max_retry_time=2.0)
        server = store.target.server  # the session's server: restarted below
        cli_args = ["db", "stats", "--sink", "neo4j"]
        for key, value in store.target.env().items():
            monkeypatch.setenv(key, value)

    def crash(statement):
        if statement.name.startswith("write ") and "evidence" in statement.name:
            server.kill()  # SIGKILL in the middle of the batch

    try:
        sink.write_documents(OLD, EVIDENCE[:3], run_id="r0")
        store.intercept(sink, crash)
        with pytest.raises(SinkError) as failure:
            sink.write_documents(BATCH, EVIDENCE, run_id="r1")
        message = str(failure.value)
        assert failure.value.exit_code == EXIT_SINK
        assert re.search(r"stopped|Connection|ServiceUnavailable|SessionExpired|unavailable|reach", message), message
        down = CliRunner().invoke(cli, cli_args)  # what cron sees while the store is down
        assert down.exit_code == EXIT_SINK, down.output
    finally:
        store.heal(sink)
        sink.close()
    if store.kind == "falkordb":
        again = FalkorDBSink(schema, settings, batch_size=2)  # restarts on the same files
    else:
        server.start(bolt_port=server.bolt_port)  # crash recovery on the same data folder and port
        assert server.uri == store.target.uri
        again = Neo4jSink(schema, store.target.settings(), 2)
    try:
        known = again.known_documents([d.doc_id for d in BATCH])
        assert all(entry.content_hash.endswith("-old") for entry in known.values())  # cut short: not claimed
        again.write_documents(BATCH, EVIDENCE, run_id="r1")
        assert aggregates(again) == expected
        assert again.stats()["Evidence"] == expected_evidence  # no partial duplicate
    finally:
        again.close()


def test_run_records(store):
    sink = store.make()
    record = RunRecord("r1", "2026-11-21T10:00:00+00:00", info={"input": "notes.parquet"})
    sink.start_run(record)
    record.finished_at, record.status, record.counts = "2026-11-21T10:05:00+00:00", "ok", {"documents": 3}
    sink.finish_run(record)
    rows = sink.query("MATCH (r:Run) RETURN properties(r) AS p")
    assert rows == [{"p": {"run_id": "r1", "started_at": "2026-11-21T10:00:00+00:00", "status": "ok",
                           "info_input": "notes.parquet", "finished_at": "2026-11-21T10:05:00+00:00",
                           "count_documents": 3}}]


def _schema_files() -> tuple[set, set]:
    """(label, property) of every constraint and index in cypher/schema/."""
    unique, plain = set(), set()
    for name, into in (("constraints.cypher", unique), ("indexes.cypher", plain)):
        for line in (ROOT / "cypher" / "schema" / name).read_text(encoding="utf-8").splitlines():
            found = re.match(r"CREATE (CONSTRAINT|INDEX) (\w+) IF NOT EXISTS FOR \(n:(\w+)\) "
                             r"(?:REQUIRE|ON) \(?n\.(\w+)", line)
            if found:
                into.add((found.group(3), found.group(4)))
    return unique, plain


def test_db_init_creates_the_constraints_and_indexes_of_the_schema_files(store, monkeypatch):
    unique, plain = _schema_files()
    assert len(unique) == 15 and len(plain) == 4  # + Concept(name) unique, Concept(code) indexed
    sink = store.make()
    if store.kind == "falkordb":
        socket = sink.server.socket_path
        args = ["--set", f"graph.falkordb.url=unix://{socket}", "--set",
                f"graph.falkordb.graph_name={sink.graph_name}", "db", "init", "--sink", "falkordb"]
    else:
        store.target.reset(schema=True)
        assert store.target.execute("SHOW CONSTRAINTS YIELD name") == []
        for key, value in store.target.env().items():
            monkeypatch.setenv(key, value)
        args = ["db", "init", "--sink", "neo4j"]
    for _ in range(2):  # repeatable
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "schema ready" in result.output
    if store.kind == "falkordb":
        sink.write_documents([doc("d1")], [ev("d1", "糖尿病", "临床表现", "多饮")], run_id="r1")  # labels exist
        indexes = sink.query("CALL db.indexes() YIELD label, properties RETURN label, properties")
        indexed = {(r["label"], p) for r in indexes for p in r["properties"]}
        constraints = sink.query("CALL db.constraints() YIELD type, label, properties, status "
                                 "RETURN type, label, properties, status")
        constrained = {(c["label"], c["properties"][0]) for c in constraints
                       if c["type"] == "UNIQUE" and c["status"] == "OPERATIONAL"}
        assert unique <= indexed and plain <= indexed
        assert constrained == unique
    else:
        rows = store.target.execute("SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties")
        assert {(r["labelsOrTypes"][0], r["properties"][0]) for r in rows
                if r["type"] == "UNIQUENESS"} == unique
        names = {r["name"] for r in rows}
        assert "disease_name_key" in names and "document_doc_id_key" in names
        indexes = store.target.execute("SHOW INDEXES YIELD name, type, labelsOrTypes, properties, state, "
                                       "owningConstraint WHERE owningConstraint IS NULL AND type = 'RANGE'")
        assert {(r["labelsOrTypes"][0], r["properties"][0]) for r in indexes} == plain
        assert {r["state"] for r in indexes} == {"ONLINE"}


def test_schema_in_place_reads_back_what_init_schema_made(store):
    """sink.schema_in_place(), what `etl doctor` compares with sink.index_specs(): each store reads
    its own constraints and indexes back (etl/graph/<store>/dialect.py)."""
    from etl.doctor import schema_gaps

    sink = store.make()
    specs = sink.index_specs()
    if store.kind == "neo4j":
        store.target.reset(schema=True)
        assert len(schema_gaps(specs, *sink.schema_in_place())) == len(specs)
    sink.init_schema()
    unique, indexed = sink.schema_in_place()
    assert schema_gaps(specs, unique, indexed) == []
    assert {(spec.label, spec.prop) for spec in specs if spec.unique} <= unique
