"""Counts kept by difference (etl/graph/counts.py): the changes one write computes, and, on both
stores, that any history of writes leaves every entity's and edge's counts equal to those of a
graph holding only the documents' last state (what a recount from scratch would give)."""
from __future__ import annotations

import random

import pytest

from etl.graph import counts
from etl.graph.counts import micros

from .conftest import doc, ev
from .test_sinks import aggregates, entity_counts


def summary(key, edge_key, doc_id, score, assertion="present", s="甲", o="乙"):
    return {"key": key, "edge_key": edge_key, "doc_id": doc_id, "subject_label": "Disease",
            "subject": s, "rel_type": "HAS_SYMPTOM", "object_label": "Symptom", "object": o,
            "score": score, "assertion": assertion, "asserted": assertion == "present"}


GROUP = ("Disease", "HAS_SYMPTOM", "Symptom")


def test_micros_rounds_half_up_as_cypher_round_does():
    assert micros(0.9) == 900_000 and micros(0.5) == 500_000
    assert micros(0.0000005) == 1 and micros(0.0000004) == 0 and micros(1.0) == 1_000_000


def test_a_rewrite_of_the_same_evidence_changes_nothing():
    rows = [summary("k1", "e", "d1", 0.9), summary("k2", "e", "d1", 0.4, "absent")]
    change = counts.changes(rows, rows)
    assert change.node_rows() == []
    edge = change.edges[GROUP]["e"]
    assert edge.empty is False and edge.lost is None  # `best` is sent: max(best, 0.9) is a no-op
    assert (edge.evidence, edge.docs, edge.micros, edge.absent, edge.possible) == (0, 0, 0, 0, 0)


def test_new_and_gone_evidence_change_counts_documents_and_scores():
    old = [summary("k1", "e", "d1", 0.9), summary("k2", "e", "d2", 0.5)]
    new = [summary("k2", "e", "d2", 0.5), summary("k3", "e", "d2", 0.7, "possible")]
    change = counts.changes(old, new)
    edge = change.edges[GROUP]["e"]
    assert (edge.evidence, edge.docs, edge.micros, edge.possible) == (-1, -1, -900_000, 1)
    assert edge.lost == 0.9 and edge.best == 0.5  # the old best is gone: the store recounts it
    assert change.node_rows() == [{"label": "Disease", "name": "甲", "dc": 0, "da": -1},
                                  {"label": "Symptom", "name": "乙", "dc": 0, "da": -1}]


def test_a_lowered_score_is_a_lost_best_a_raised_one_is_not():
    assert counts.changes([summary("k", "e", "d", 0.9)], [summary("k", "e", "d", 0.8)]).edges[GROUP]["e"].lost == 0.9
    assert counts.changes([summary("k", "e", "d", 0.8)], [summary("k", "e", "d", 0.9)]).edges[GROUP]["e"].lost is None


def test_a_finding_denied_now_leaves_the_edge_and_counts_as_absent():
    change = counts.changes([summary("k", "e", "d", 0.9)], [summary("k", "e", "d", 0.9, "absent")])
    edge = change.edges[GROUP]["e"]
    assert (edge.evidence, edge.docs, edge.absent, edge.lost) == (-1, -1, 1, 0.9)


def test_an_entity_at_both_ends_counts_twice():
    change = counts.changes([], [summary("k", "e", "d", 0.9, s="甲", o="甲")])
    nodes = {(row["label"], row["name"]): (row["dc"], row["da"]) for row in change.node_rows()}
    assert nodes == {("Disease", "甲"): (1, 1), ("Symptom", "甲"): (1, 1)}


# ---------------------------------------------------------------------- histories on both stores
DISEASES = ["肺炎", "胃炎", "高血压"]
SYMPTOMS = ["发热", "咳嗽", "腹痛"]
ASSERTIONS = ["present"] * 4 + ["absent", "possible"]
# Scores with ties and exact half-millionths (rounding), so best and mean are put to the test.
SCORES = [0.9, 0.9, 0.5, 0.7500005, 0.6, 0.3333333]


def random_state(rng: random.Random, doc_id: str) -> list:
    """A document's evidence: hub pairs repeat across documents; 0 to 5 triples."""
    out = []
    for i in range(rng.randrange(6)):
        predicate, subject_type, obj = rng.choice([("临床表现", "疾病", rng.choice(SYMPTOMS)),
                                                    ("并发症", "疾病", rng.choice(DISEASES))])
        out.append(ev(doc_id, rng.choice(DISEASES), predicate, obj, rng.choice(SCORES),
                      rng.choice([0, 10, 20, 10 * i]), subject_type=subject_type,
                      object_assertion=rng.choice(ASSERTIONS), subject_assertion=rng.choice(ASSERTIONS)))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_any_history_of_writes_gives_the_counts_of_the_last_state(store, seed):
    rng = random.Random(seed)
    sink = store.make()
    state: dict[str, list] = {}
    for step in range(12):
        ids = rng.sample([f"d{i}" for i in range(6)], rng.randrange(1, 4))
        for doc_id in ids:
            state[doc_id] = random_state(rng, doc_id)
        sink.write_documents([doc(i, f"h{step}") for i in ids],
                             [e for i in ids for e in state[i]], run_id=f"r{step}")
        fresh = store.make()
        fresh.write_documents([doc(i) for i in sorted(state)], [e for i in sorted(state) for e in state[i]],
                              run_id="fresh")
        assert aggregates(sink) == aggregates(fresh), f"step {step}"
        assert entity_counts(sink) == entity_counts(fresh), f"step {step}"
