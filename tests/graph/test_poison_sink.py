"""Hostile strings written straight through a sink into each real store (issue 17): every kind of
value of the poison catalogue as entity names, surface forms, sentences, metadata, file names and
run info. The store must stay up, keys must come out normalised, a rewrite must change nothing,
and ids that cannot be keys must be refused before any statement is sent.

Stores: the native FalkorDB and the real Neo4j 5.26 of the test session (or NEO4J_TEST_URI's)."""
from __future__ import annotations

import pytest

from etl.graph.batch import InvalidEvidence
from etl.graph.records import RunRecord
from etl.records import Document
from etl.values import normalize_name, name_key
from poison_catalogue import HOSTILE, store_safe_key

from .conftest import ev, snapshot


# starts or talks to a real FalkorDB or Neo4j: `make test` only, not `make check`
pytestmark = pytest.mark.server

VERSIONS = {"relation": "rel-1", "spans": "span-1"}


@pytest.fixture(params=["falkordb", "neo4j"])
def poison_sink(request, schema):
    """A sink on an empty graph of the store under test, and a check that its server is alive."""
    if request.param == "falkordb":
        sink = request.getfixturevalue("make_fk_sink")()
        yield sink, sink.server.alive
        return
    sink = request.getfixturevalue("make_neo4j_sink")(50)
    yield sink, lambda: sink.verify_connectivity() is None


def test_every_hostile_value_is_stored_safely_and_rewrites_identically(poison_sink):
    sink, alive = poison_sink
    docs, evidence = [], []
    for name, value in HOSTILE.items():
        doc_id = f"d-{name}"
        docs.append(Document(doc_id, f"notes-{value}.parquet", "h", {"section": value, "n": 1}, VERSIONS))
        evidence.append(ev(doc_id, f"糖尿病{value}", "临床表现", f"{value}多饮", sentence=f"句{value}子"))
        evidence.append(ev(doc_id, f"{value}肾病{value}", "临床表现", "蛋白尿", start=50))
    sink.start_run(RunRecord("r1", "2026-12-01T00:00:00", info={"input": "/data/\x00\ud800\x01 in"}))
    sink.write_documents(docs, evidence, run_id="r1")
    assert alive()
    first = snapshot(sink)
    sink.write_documents(docs, evidence, run_id="r1")
    assert snapshot(sink) == first and alive()

    names = {row["name"] for row in sink.query("MATCH (n:Entity) RETURN n.name AS name")}
    expected = {name_key(normalize_name(e.subject)) for e in evidence} | \
        {name_key(normalize_name(e.object)) for e in evidence}
    assert names == expected and all(store_safe_key(n) for n in names)
    stored = {row["id"]: row for row in sink.query(
        "MATCH (d:Document) RETURN d.doc_id AS id, d.meta_section AS section, d.source_file AS file")}
    assert set(stored) == {d.doc_id for d in docs}
    assert stored["d-padded"]["section"] == "  padded  "  # metadata is kept as given, only made safe
    assert stored["d-c0_00"]["section"] == " " and stored["d-lone_high"]["section"] == "\ufffd"
    [run] = sink.query("MATCH (r:Run) RETURN r.info_input AS input")
    assert run["input"] == "/data/ \ufffd  in"


@pytest.mark.parametrize("doc_id", ["\x01", " d ", "d\x00", "x" * 401, "d\ud800", "\t", ""])
def test_ids_that_cannot_be_keys_are_refused_before_any_statement(poison_sink, doc_id):
    sink, alive = poison_sink
    with pytest.raises(InvalidEvidence):
        sink.write_documents([Document(doc_id, "f", "h", {}, VERSIONS)], [], run_id="r1")
    assert alive() and sink.stats().get("Document", 0) == 0
