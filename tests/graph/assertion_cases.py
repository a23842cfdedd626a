"""Assertion semantics, checked against both stores (test_sinks.py calls these with each store's
sink): a typed relationship exists iff some evidence asserts both ends; its aggregates count only
that evidence; evidence with an absent or possible end is kept (Evidence node, HAS_EVIDENCE,
SUBJECT, OBJECT) and counted as absent_count / possible_count.
"""
from __future__ import annotations

from typing import Callable

from etl.graph.sink import Sink

from .conftest import doc, ev, snapshot

A, P = {"object_assertion": "absent"}, {"object_assertion": "possible"}
DOCS = [doc("d1", "h1"), doc("d2", "h2"), doc("d3", "h3")]
ROWS = [
    ev("d1", "糖尿病", "临床表现", "多饮", 0.9, 0),
    ev("d1", "糖尿病", "临床表现", "恶心", 0.8, 10, **A),  # 无恶心: the only claims about 恶心 deny it
    ev("d1", "糖尿病", "临床表现", "多尿", 0.7, 20),
    ev("d2", "糖尿病", "临床表现", "多饮", 0.6, 0, **A),  # denied here, asserted in d1: edge stays
    ev("d2", "糖尿病", "临床表现", "多尿", 0.5, 10, **P),
    ev("d2", "糖尿病", "临床表现", "乏力", 0.4, 20, subject_assertion="possible", object_assertion="possible"),
    ev("d3", "糖尿病", "临床表现", "恶心", 0.4, 0, subject_assertion="possible", object_assertion="absent"),
    ev("d3", "肺炎", "临床表现", "发热", 0.3, 10, subject_assertion="possible"),
    ev("d3", "糖尿病", "临床表现", "多饮", 0.3, 20, object_experiencer="family", object_historical=True),
]
# (subject, type, object) -> (evidence_count, doc_count, best, mean, absent_count, possible_count)
EDGES = {("糖尿病", "HAS_SYMPTOM", "多饮"): (2, 2, 0.9, 0.6, 1, 0),
         ("糖尿病", "HAS_SYMPTOM", "多尿"): (1, 1, 0.7, 0.7, 0, 1)}
# entity -> (evidence_count, asserted_count)
ENTITIES = {"糖尿病": (8, 3), "多饮": (3, 2), "多尿": (2, 1), "恶心": (2, 0), "乏力": (1, 0),
            "肺炎": (1, 0), "发热": (1, 0)}


def edges(sink: Sink) -> dict:
    return {(r["s"], r["t"], r["o"]): (r["n"], r["docs"], r["best"], r["mean"], r["absent"], r["possible"])
            for r in sink.query(
                "MATCH (s:Entity)-[r]->(o:Entity) RETURN s.name AS s, type(r) AS t, o.name AS o, "
                "r.evidence_count AS n, r.doc_count AS docs, r.best_score AS best, r.mean_score AS mean, "
                "r.absent_count AS absent, r.possible_count AS possible")}


def entities(sink: Sink) -> dict:
    return {r["n"]: (r["c"], r["a"]) for r in sink.query(
        "MATCH (n:Entity) RETURN n.name AS n, n.evidence_count AS c, n.asserted_count AS a")}


def check_only_asserted_evidence_makes_relationships(sink: Sink) -> None:
    stats = sink.write_documents(DOCS, ROWS, run_id="r1")
    assert stats.evidence == 9 and stats.relationships == 2
    assert edges(sink) == EDGES
    assert entities(sink) == ENTITIES  # denied / uncertain findings keep their nodes
    # Every piece of evidence is kept, linked to its document and both entities, with its assertions.
    rows = sink.query(
        "MATCH (d:Document)-[:HAS_EVIDENCE]->(e:Evidence)-[:SUBJECT]->(s:Entity) "
        "MATCH (e)-[:OBJECT]->(o:Entity) RETURN d.doc_id AS doc, s.name AS s, o.name AS o, "
        "e.subject_assertion AS sa, e.object_assertion AS oa, e.assertion AS a, e.asserted AS asserted, "
        "e.subject_experiencer AS se, e.object_experiencer AS oe, e.subject_historical AS sh, "
        "e.object_historical AS oh, e.assertion_model AS model")
    assert len(rows) == 9
    nausea = sorted((r["doc"], r["sa"], r["oa"], r["a"], r["asserted"]) for r in rows if r["o"] == "恶心")
    assert nausea == [("d1", "present", "absent", "absent", False), ("d3", "possible", "absent", "absent", False)]
    family = next(r for r in rows if r["doc"] == "d3" and r["o"] == "多饮")
    assert (family["a"], family["se"], family["oe"], family["sh"], family["oh"], family["model"]) == (
        "present", "patient", "family", False, True, "assert-1")
    counts = sink.stats()
    assert (counts["Evidence"], counts["Evidence asserted"], counts["Evidence with absent end"],
            counts["Evidence with possible end"], counts["HAS_SYMPTOM"]) == (9, 3, 3, 3, 2)
    documents = {r["d"]: (r["n"], r["a"]) for r in sink.query(
        "MATCH (d:Document) RETURN d.doc_id AS d, d.evidence_count AS n, d.asserted_count AS a")}
    assert documents == {"d1": (3, 2), "d2": (3, 0), "d3": (3, 1)}
    # Written again: identical.
    before = snapshot(sink)
    sink.write_documents(DOCS, ROWS, run_id="r1")
    assert snapshot(sink) == before


def check_flips_remove_and_restore_relationships(sink: Sink, make_sink: Callable[[], Sink]) -> None:
    """A document whose finding flips present -> absent -> present loses, then regains, the edge;
    an edge another document asserts stays, with its aggregates recomputed each time."""
    def d1(version: str, assertion: str):
        flag = {"object_assertion": assertion}
        return [doc("d1", f"h1{version}")], [ev("d1", "糖尿病", "临床表现", "恶心", 0.8, 0, **flag),
                                             ev("d1", "糖尿病", "临床表现", "多饮", 0.9, 10, **flag)]
    d2 = ([doc("d2", "h2")], [ev("d2", "糖尿病", "临床表现", "多饮", 0.5, 0)])
    sink.write_documents(*d2, run_id="r1")
    sink.write_documents(*d1("a", "present"), run_id="r1")
    assert edges(sink) == {("糖尿病", "HAS_SYMPTOM", "恶心"): (1, 1, 0.8, 0.8, 0, 0),
                           ("糖尿病", "HAS_SYMPTOM", "多饮"): (2, 2, 0.9, 0.7, 0, 0)}
    sink.write_documents(*d1("b", "absent"), run_id="r2")
    assert edges(sink) == {("糖尿病", "HAS_SYMPTOM", "多饮"): (1, 1, 0.5, 0.5, 1, 0)}
    assert entities(sink)["恶心"] == (1, 0)  # the denial is still there, as evidence
    assert sink.known_documents(["d1"])["d1"].content_hash == "h1b"
    sink.write_documents(*d1("c", "possible"), run_id="r3")
    assert edges(sink) == {("糖尿病", "HAS_SYMPTOM", "多饮"): (1, 1, 0.5, 0.5, 0, 1)}
    sink.write_documents(*d1("d", "present"), run_id="r4")
    regained = {("糖尿病", "HAS_SYMPTOM", "恶心"): (1, 1, 0.8, 0.8, 0, 0),
                ("糖尿病", "HAS_SYMPTOM", "多饮"): (2, 2, 0.9, 0.7, 0, 0)}
    assert edges(sink) == regained
    runs = {r["o"]: (r["first"], r["last"]) for r in sink.query(
        "MATCH (:Disease)-[r:HAS_SYMPTOM]->(o:Symptom) RETURN o.name AS o, r.first_run AS first, "
        "r.last_run AS last")}
    assert runs == {"恶心": ("r4", "r4"), "多饮": ("r1", "r4")}  # 恶心's edge is a new one
    # The same graph as the final state written from scratch in the same runs (entities excepted:
    # 恶心's node lived on through the denial, so its first_run is older).
    expected = _without_entities(snapshot(sink))
    fresh = make_sink()  # (on a one-database server this replaces the graph above)
    fresh.write_documents(*d2, run_id="r1")
    fresh.write_documents(*d1("d", "present"), run_id="r4")
    assert edges(fresh) == regained
    assert _without_entities(snapshot(fresh)) == expected


def _without_entities(snap: dict) -> dict:
    return {"nodes": [n for n in snap["nodes"] if '"Entity"' not in n],
            "rels": [r for r in snap["rels"] if '"HAS_SYMPTOM"' in r]}


def check_a_later_denial_counts_on_the_existing_edge(sink: Sink) -> None:
    """Documents that only deny or doubt an existing edge, each in a batch of its own, update its
    absent / possible counts, but not its asserted aggregates nor its last_run."""
    sink.write_documents([doc("d1")], [ev("d1", "糖尿病", "临床表现", "多饮", 0.9, 0)], run_id="r1")
    sink.write_documents([doc("d2")], [ev("d2", "糖尿病", "临床表现", "多饮", 0.2, 0, **A)], run_id="r2")
    sink.write_documents([doc("d3")], [ev("d3", "糖尿病", "临床表现", "多饮", 0.3, 0, **P)], run_id="r3")
    key = ("糖尿病", "HAS_SYMPTOM", "多饮")
    assert edges(sink) == {key: (1, 1, 0.9, 0.9, 1, 1)}
    assert sink.query("MATCH ()-[r:HAS_SYMPTOM]->() RETURN r.last_run AS last") == [{"last": "r1"}]
    sink.write_documents([doc("d2", "h2b")], [], run_id="r4")  # the denial goes away
    assert edges(sink) == {key: (1, 1, 0.9, 0.9, 0, 1)}
