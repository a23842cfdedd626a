"""Counts kept by difference: what one write changes in each entity's and edge's counts.

A write replaces its documents' evidence (sink.py), and it knows both sides: the documents' old
evidence (read back first) and the new. So instead of recounting every evidence link of every
entity and edge it touches (a cost that grows with their degree: a common finding such as 发热 has
evidence in a large share of all notes), the write sends each touched entity and edge the change
in its counts, O(1) per entity and edge (statements.adjust_nodes, upsert_edges, adjust_edges).

What a difference cannot say, the store recounts (statements.refresh_edges): an edge's best score
when evidence holding the best may be gone (`lost` >= best), and the aggregates of an edge created
by this write (other documents' denied evidence counts on it). Scores are summed as integer
micro-units (`micros`), so a recount and any sequence of differences give the same mean, exactly.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from etl.records import ABSENT, POSSIBLE

# One row per piece of evidence, old or new: the fields a count depends on.
SUMMARY_FIELDS = ("key", "edge_key", "doc_id", "subject_label", "subject", "rel_type", "object_label",
                  "object", "score", "assertion", "asserted")


# An edge change row as the statements read it: a list, not a map (FalkorDB parses parameters as
# Cypher text, and the key names would be half of it).
EDGE_CHANGE_FIELDS = ("s", "o", "edge_key", "predicate", "dn", "dd", "dm", "da", "dp", "best", "lost")


def micros(score: float) -> int:
    """A score in integer millionths, rounded half up as Cypher's round() does in both stores
    (statements._aggregates computes the same from the stored scores)."""
    return math.floor(score * 1_000_000 + 0.5)


@dataclass
class EdgeChange:
    """The change one write makes to an edge's aggregates (statements._apply_changes)."""
    s: str
    o: str
    edge_key: str
    evidence: int = 0  # asserted evidence
    docs: int = 0  # documents with asserted evidence
    micros: int = 0  # sum of asserted scores, in millionths
    absent: int = 0
    possible: int = 0
    best: float | None = None  # best new asserted score
    lost: float | None = None  # best old asserted score that is gone or lowered

    def ends(self) -> dict:
        """The edge as statements find it (refresh_edges, prune_edges rows)."""
        return {"s": self.s, "o": self.o, "edge_key": self.edge_key}

    def row(self, predicate: str | None = None) -> list:
        """The edge with its changes, in EDGE_CHANGE_FIELDS order (upsert_edges, adjust_edges)."""
        return [self.s, self.o, self.edge_key, predicate, self.evidence, self.docs, self.micros,
                self.absent, self.possible, self.best, self.lost]

    @property
    def empty(self) -> bool:
        return not (self.evidence or self.docs or self.micros or self.absent or self.possible
                    or self.best is not None or self.lost is not None)


@dataclass
class Changes:
    # (label, name) -> [evidence links, asserted evidence links]
    nodes: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    # (subject label, rel type, object label) -> edge key -> EdgeChange
    edges: dict[tuple[str, str, str], dict[str, EdgeChange]] = field(default_factory=lambda: defaultdict(dict))

    def node_rows(self) -> list[dict]:
        """Entities whose counts change, sorted: [{label, name, dc, da}]."""
        return [{"label": label, "name": name, "dc": dc, "da": da}
                for (label, name), (dc, da) in sorted(self.nodes.items()) if dc or da]


def changes(old: Iterable[dict], new: Iterable[dict]) -> Changes:
    """The count changes of replacing the documents' `old` evidence with `new` (rows holding at
    least SUMMARY_FIELDS; `new` holds every document of the write, so a document's old evidence
    is always replaced). Plain loops: this runs for every triple written."""
    out = Changes()
    nodes, edges = out.nodes, out.edges
    asserted: dict[str, tuple[dict, dict]] = {}  # edge key -> (old, new) asserted evidence key -> score
    docs: dict[str, tuple[set, set]] = {}  # edge key -> (old, new) documents with asserted evidence
    for side, rows in ((-1, old), (1, new)):
        for row in rows:
            yes = bool(row["asserted"])
            for ends in ((row["subject_label"], row["subject"]), (row["object_label"], row["object"])):
                counts = nodes[ends]
                counts[0] += side
                counts[1] += side * yes
            key = row["edge_key"]
            group = edges[(row["subject_label"], row["rel_type"], row["object_label"])]
            edge = group.get(key)
            if edge is None:
                edge = group[key] = EdgeChange(row["subject"], row["object"], key)
                asserted[key], docs[key] = ({}, {}), (set(), set())
            assertion = row["assertion"]
            if yes:
                edge.evidence += side
                edge.micros += side * micros(row["score"])
                asserted[key][side > 0][row["key"]] = row["score"]
                docs[key][side > 0].add(row["doc_id"])
            elif assertion == ABSENT:
                edge.absent += side
            elif assertion == POSSIBLE:
                edge.possible += side
    for group in edges.values():
        for key, edge in group.items():
            (before, after), (old_docs, new_docs) = asserted[key], docs[key]
            edge.docs = len(new_docs) - len(old_docs)
            if after:
                edge.best = max(after.values())
            gone = [score for ev_key, score in before.items() if after.get(ev_key, -math.inf) < score]
            if gone:
                edge.lost = max(gone)
    return out
