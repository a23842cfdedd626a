"""The same documents written to FalkorDB and to Neo4j give the same graph."""
from __future__ import annotations

import random

from etl.schema import load_schema

from .conftest import doc, ev, snapshot


def documents(n_docs: int = 60, per_doc: int = 8, seed: int = 3):
    """Documents over every schema line, names from small pools so entities and edges repeat."""
    schema = load_schema()
    rng = random.Random(seed)
    triples = list(schema.triples)
    out = []
    for d in range(n_docs):
        rows = []
        for i in range(per_doc):
            t = rng.choice(triples)
            s, o = f"{t.subject_type}{rng.randrange(12)}", f"{t.object_type}{rng.randrange(12)}"
            rows.append(ev(f"doc{d}", s, t.predicate, o, round(rng.uniform(0.3, 1.0), 3), i * 20,
                           subject_type=t.subject_type, object_type=t.object_type))
        out.append((doc(f"doc{d}", f"h{d}", ward=f"w{d % 3}"), rows))
    return out


def write(sink, batches) -> None:
    for i in range(0, len(batches), 7):
        chunk = batches[i:i + 7]
        sink.write_documents([d for d, _ in chunk], [e for _, rows in chunk for e in rows], run_id="r1")
    # A second run changes every fifth document: its old evidence must go the same way in both.
    changed = [(doc(d.doc_id, d.content_hash + "b"), rows[: len(rows) // 2]) for d, rows in batches[::5]]
    sink.write_documents([d for d, _ in changed], [e for _, rows in changed for e in rows], run_id="r2")


def describe(sink) -> dict:
    counts = sink.stats()
    return {
        "nodes_by_label": {k: v for k, v in counts.items() if not k.isupper()},
        "relationships_by_type": {k: v for k, v in counts.items() if k.isupper()},
        "entity_names": sorted((sorted(r["labels"]), r["name"]) for r in sink.query(
            "MATCH (n:Entity) RETURN labels(n) AS labels, n.name AS name")),
        "edges": sorted(tuple(r.values()) for r in sink.query(
            "MATCH (s:Entity)-[r]->(o:Entity) RETURN s.name AS s, type(r) AS t, o.name AS o, "
            "r.evidence_count AS n, r.doc_count AS docs, r.best_score AS best, r.mean_score AS mean, "
            "r.first_run AS first, r.last_run AS last")),
        "provenance": {r["t"]: r["n"] for r in sink.query(
            "MATCH ()-[r:HAS_EVIDENCE|SUBJECT|OBJECT]->() RETURN type(r) AS t, count(r) AS n")},
    }


def test_the_same_documents_give_the_same_graph_in_both_stores(make_fk_sink, make_neo4j_sink):
    batches = documents()
    falkordb, neo4j = make_fk_sink(batch_size=50), make_neo4j_sink(batch_size=50)
    write(falkordb, batches)
    write(neo4j, batches)
    expected = describe(falkordb)
    assert expected["nodes_by_label"]["Evidence"] > 300 and len(expected["relationships_by_type"]) > 20
    got = describe(neo4j)
    for key in expected:
        assert got[key] == expected[key], key
    assert snapshot(neo4j) == snapshot(falkordb)  # and every property of every node and relationship
