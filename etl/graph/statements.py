"""Every Cypher statement the graph writers send, built in one place.

Rules enforced here:
- labels and relationship types come only from the schema whitelist (plus the provenance names
  below) and must be plain identifiers: `_name()` refuses anything else, whatever the caller;
- every value is a parameter ($rows, $run_id, ...): no value is ever formatted into the text;
- data statements are `UNWIND $rows AS row ...`, one per (label) or (subject label, relationship
  type, object label) group, chunked to `batch_size` rows.

The statements are plain openCypher that both Neo4j 5 and FalkorDB run unchanged; the only
dialect difference (schema set-up) lives in `dialect.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

from etl.graph.batch import EVIDENCE_PROPERTIES
from etl.graph.records import ABSENT, POSSIBLE
from etl.schema import CYPHER_IDENTIFIER, Schema

# Provenance vocabulary (not from the CMeIE schema, but fixed here and whitelisted the same way).
ENTITY = "Entity"  # second label on every entity node: lets templates look a name up by any type
DOCUMENT = "Document"
EVIDENCE = "Evidence"
RUN = "Run"
HAS_EVIDENCE = "HAS_EVIDENCE"
SUBJECT = "SUBJECT"
OBJECT = "OBJECT"
INTERNAL_LABELS = (ENTITY, DOCUMENT, EVIDENCE, RUN)
INTERNAL_REL_TYPES = (HAS_EVIDENCE, SUBJECT, OBJECT)

# Mean scores are rounded so that the same evidence read in another order gives the same value.
_SCORE_DIGITS = 1_000_000.0


@dataclass(frozen=True)
class Statement:
    name: str  # what it does, for logs and error messages
    text: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class IndexSpec:
    """A lookup key the writers rely on: an index, unique when `unique`."""
    label: str
    prop: str
    unique: bool

    @property
    def name(self) -> str:
        return f"{self.label.lower()}_{self.prop}_{'key' if self.unique else 'idx'}"


def chunks(rows: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


class StatementBuilder:
    def __init__(self, schema: Schema, batch_size: int = 2000):
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        self.schema = schema
        self.batch_size = batch_size
        self._labels = frozenset(schema.labels) | frozenset(INTERNAL_LABELS)
        self._rel_types = frozenset(schema.rel_types) | frozenset(INTERNAL_REL_TYPES)

    # ------------------------------------------------------------------ the whitelist
    def _name(self, name: str, allowed: frozenset) -> str:
        # Not an `assert`: this must also hold under python -O.
        if name not in allowed or not CYPHER_IDENTIFIER.match(name):
            raise ValueError(f"refusing to put {name!r} into Cypher: not a whitelisted label/type")
        return name

    def label(self, name: str) -> str:
        return self._name(name, self._labels)

    def rel(self, name: str) -> str:
        return self._name(name, self._rel_types)

    def entity_labels(self) -> tuple[str, ...]:
        return tuple(self.label(label) for label in self.schema.labels)

    def edge_groups(self) -> list[tuple[str, str, str]]:
        """Every (subject label, relationship type, object label) the schema allows (53)."""
        return [(self.schema.label(t.subject_type), self.schema.rel_type(t.predicate),
                 self.schema.label(t.object_type)) for t in self.schema.triples]

    # ------------------------------------------------------------------ schema
    def index_specs(self) -> list[IndexSpec]:
        specs = [IndexSpec(label, "name", True) for label in self.entity_labels()]
        specs += [
            IndexSpec(self.label(ENTITY), "name", False),
            IndexSpec(self.label(DOCUMENT), "doc_id", True),
            IndexSpec(self.label(EVIDENCE), "key", True),
            IndexSpec(self.label(EVIDENCE), "edge_key", False),
            IndexSpec(self.label(EVIDENCE), "run_id", False),
            IndexSpec(self.label(RUN), "run_id", True),
        ]
        return specs

    # ------------------------------------------------------------------ the write protocol
    # Order (sink.py): begin -> find the old evidence, delete what is not written again ->
    # entities -> relationships -> evidence (new: create; same key: update) -> refresh
    # relationships, prune those left with none -> refresh entities, prune -> commit the ledger. The ledger is written last, so a write cut short anywhere
    # leaves the document without a content hash and the next run writes it again.
    def begin_documents(self, doc_ids: Sequence[str], run_id: str) -> Iterator[Statement]:
        text = (f"UNWIND $rows AS doc_id\n"
                f"MERGE (d:{self.label(DOCUMENT)} {{doc_id: doc_id}})\n"
                f"SET d.content_hash = null, d.pending_run = $run_id")
        for rows in chunks(list(doc_ids), self.batch_size):
            yield Statement("begin documents", text, {"rows": list(rows), "run_id": run_id})

    def retracted_evidence(self, doc_ids: Sequence[str]) -> Iterator[Statement]:
        """The documents' current evidence: its key, and the edge and entities it supports (to
        refresh later). HAS_EVIDENCE only ever leads to Evidence, so `ev` has no label: with one,
        Neo4j planned (from the statistics of a young graph) a scan of the Evidence index joined
        to the documents, a cost that grows with the graph; without, the only start is the
        document's unique key."""
        text = (f"UNWIND $rows AS doc_id\n"
                f"MATCH (:{self.label(DOCUMENT)} {{doc_id: doc_id}})-[:{self.rel(HAS_EVIDENCE)}]->(ev)\n"
                f"RETURN ev.key AS key, ev.edge_key AS edge_key, ev.subject_label AS subject_label, "
                f"ev.subject AS subject, ev.rel_type AS rel_type, ev.object_label AS object_label, "
                f"ev.object AS object")
        for rows in chunks(list(doc_ids), self.batch_size):
            yield Statement("find old evidence", text, {"rows": list(rows)})

    def delete_evidence(self, keys: Sequence[str]) -> Iterator[Statement]:
        """Old evidence the new write does not have again (by its constrained key)."""
        text = (f"UNWIND $rows AS key\n"
                f"MATCH (ev:{self.label(EVIDENCE)} {{key: key}})\n"
                f"DETACH DELETE ev\n"
                f"RETURN count(*) AS removed")
        for rows in chunks(list(keys), self.batch_size):
            yield Statement("delete old evidence", text, {"rows": list(rows)})

    def upsert_nodes(self, label: str, rows: Sequence[dict], run_id: str) -> Iterator[Statement]:
        """rows: [{name, full_name, surface_forms}]; `name` is the bounded key (names.py), `full_name`
        only set for huge names; surface forms are a set kept in first-seen order. MERGE names both
        labels: the node is found by its constrained key, and nothing set here is read by a later
        row's lookup (setting the Entity label on create made Neo4j plan an Eager)."""
        text = (f"UNWIND $rows AS row\n"
                f"MERGE (n:{self.label(label)}:{self.label(ENTITY)} {{name: row.name}})\n"
                f"ON CREATE SET n.first_run = $run_id, n.surface_forms = row.surface_forms, "
                f"n.evidence_count = 0, n.asserted_count = 0, n.full_name = row.full_name\n"
                f"ON MATCH SET n.surface_forms = n.surface_forms + "
                f"[s IN row.surface_forms WHERE NOT s IN n.surface_forms]\n"
                f"SET n.last_run = $run_id")
        for part in chunks(list(rows), self.batch_size):
            yield Statement(f"merge {label} nodes", text, {"rows": list(part), "run_id": run_id})

    def _endpoints(self, s_label: str, o_label: str) -> str:
        return (f"MATCH (s:{self.label(s_label)} {{name: row.s}})\n"
                f"MATCH (o:{self.label(o_label)} {{name: row.o}})\n")

    def upsert_edges(self, group: tuple[str, str, str], rows: Sequence[dict],
                     run_id: str) -> Iterator[Statement]:
        """rows: [{s, o, edge_key, predicate}], the edges the batch's asserted evidence supports;
        aggregates are set by refresh_edges(). `last_run`: the last run that wrote asserted evidence."""
        s_label, rel_type, o_label = group
        text = (f"UNWIND $rows AS row\n" + self._endpoints(s_label, o_label) +
                f"MERGE (s)-[r:{self.rel(rel_type)}]->(o)\n"
                f"ON CREATE SET r.predicate = row.predicate, r.edge_key = row.edge_key, "
                f"r.first_run = $run_id\n"
                f"SET r.last_run = $run_id")
        for part in chunks(list(rows), self.batch_size):
            yield Statement(f"merge {s_label}-{rel_type}->{o_label}", text,
                            {"rows": list(part), "run_id": run_id})

    def create_evidence(self, group: tuple[str, str, str], rows: Sequence[dict]) -> Iterator[Statement]:
        """rows: [{key, doc_id, s, o, props}], props holding exactly EVIDENCE_PROPERTIES: evidence
        the graph does not hold yet (the protocol found the documents' old evidence first). CREATE,
        not MERGE: the unique key constraint refuses a duplicate anyway. The properties are named
        one by one: a map (`SET ev += row.props`) made Neo4j plan an Eager over the whole batch."""
        s_label, rel_type, o_label = group
        self.rel(rel_type)
        props = ", ".join(f"{_prop(name)}: row.props.{_prop(name)}" for name in EVIDENCE_PROPERTIES)
        text = (f"UNWIND $rows AS row\n"
                f"MATCH (d:{self.label(DOCUMENT)} {{doc_id: row.doc_id}})\n" +
                self._endpoints(s_label, o_label) +
                f"CREATE (d)-[:{self.rel(HAS_EVIDENCE)}]->(ev:{self.label(EVIDENCE)} {{{props}}}),\n"
                f"       (ev)-[:{self.rel(SUBJECT)}]->(s), (ev)-[:{self.rel(OBJECT)}]->(o)")
        for part in chunks(list(rows), self.batch_size):
            yield Statement(f"write {s_label}-{rel_type}->{o_label} evidence", text, {"rows": list(part)})

    def update_evidence(self, rows: Sequence[dict]) -> Iterator[Statement]:
        """rows: [{key, props}]: evidence the graph already holds under the same key. The key is
        a hash of the document, the edge and the spans (batch._evidence_row), so its document,
        subject and object links are already right: only the properties are set again (all but
        the key, named one by one as in create_evidence). One statement for every group."""
        sets = ", ".join(f"ev.{_prop(name)} = row.props.{_prop(name)}"
                         for name in EVIDENCE_PROPERTIES if name != "key")
        text = (f"UNWIND $rows AS row\n"
                f"MATCH (ev:{self.label(EVIDENCE)} {{key: row.key}})\n"
                f"SET {sets}")
        for part in chunks(list(rows), self.batch_size):
            yield Statement("update evidence", text, {"rows": list(part)})

    def refresh_edges(self, group: tuple[str, str, str], rows: Sequence[dict]) -> Iterator[Statement]:
        """Recompute an edge's aggregates from the evidence left; returns (edge_key, n) per edge
        found, so that only edges left with no asserted evidence (n = 0) are sent to prune_edges.
        rows: [{s, o, edge_key}] (edges that do not exist are no-ops).

        evidence_count, doc_count, best_score, mean_score: asserted evidence only (both ends
        present). absent_count: evidence with an absent end; possible_count: evidence with a
        possible end and no absent end (batch.evidence_assertion). Evidence written before
        assertions existed has no `asserted` property and counts as asserted, as it did then."""
        s_label, rel_type, o_label = group
        text = (f"UNWIND $rows AS row\n"
                f"MATCH (s:{self.label(s_label)} {{name: row.s}})-[r:{self.rel(rel_type)}]->"
                f"(o:{self.label(o_label)} {{name: row.o}})\n"
                f"OPTIONAL MATCH (ev:{self.label(EVIDENCE)} {{edge_key: row.edge_key}})\n"
                f"WITH r, ev, CASE WHEN coalesce(ev.asserted, ev IS NOT NULL) THEN ev END AS yes\n"
                f"WITH r, count(yes) AS n, count(DISTINCT yes.doc_id) AS docs, max(yes.score) AS best, "
                f"avg(yes.score) AS mean, count(CASE ev.assertion WHEN $absent THEN 1 END) AS absent, "
                f"count(CASE ev.assertion WHEN $possible THEN 1 END) AS possible\n"
                f"SET r.evidence_count = n, r.doc_count = docs, r.best_score = best, "
                f"r.mean_score = round(mean * {_SCORE_DIGITS}) / {_SCORE_DIGITS}, "
                f"r.absent_count = absent, r.possible_count = possible\n"
                f"RETURN r.edge_key AS edge_key, n")
        for part in chunks(list(rows), self.batch_size):
            yield Statement(f"refresh {s_label}-{rel_type}->{o_label}", text,
                            {"rows": list(part), "absent": ABSENT, "possible": POSSIBLE})

    def prune_edges(self, group: tuple[str, str, str], rows: Sequence[dict]) -> Iterator[Statement]:
        """Delete the given edges left with no asserted evidence (refresh_edges said n = 0; the
        condition is checked again here). A statement of its own: FalkorDB 4.16 drops the SETs of a statement whose rows
        are filtered out by a later `WITH ... WHERE` (measured), so no SET-then-filter."""
        s_label, rel_type, o_label = group
        text = (f"UNWIND $rows AS row\n"
                f"MATCH (s:{self.label(s_label)} {{name: row.s}})-[r:{self.rel(rel_type)}]->"
                f"(o:{self.label(o_label)} {{name: row.o}})\n"
                f"WHERE r.evidence_count = 0\n"
                f"DELETE r")
        for part in chunks(list(rows), self.batch_size):
            yield Statement(f"prune {s_label}-{rel_type}->{o_label}", text, {"rows": list(part)})

    def refresh_nodes(self, label: str, names: Sequence[str]) -> Iterator[Statement]:
        """Evidence counts from the node's SUBJECT/OBJECT links (all, and asserted as in
        refresh_edges); returns (name, c), so that only nodes left without any evidence (c = 0)
        are sent to prune_nodes. A finding only ever denied
        keeps its node (evidence_count > 0, asserted_count = 0) and has no typed relationship."""
        links = f"(n)<-[:{self.rel(SUBJECT)}|{self.rel(OBJECT)}]-"
        text = (f"UNWIND $rows AS name\n"
                f"MATCH (n:{self.label(label)} {{name: name}})\n"
                f"WITH n, size([{links}(:{self.label(EVIDENCE)}) | 1]) AS c, "
                f"size([{links}(ev:{self.label(EVIDENCE)}) WHERE coalesce(ev.asserted, true) | 1]) AS a\n"
                f"SET n.evidence_count = c, n.asserted_count = a\n"
                f"RETURN n.name AS name, c")
        for part in chunks(list(names), self.batch_size):
            yield Statement(f"refresh {label} nodes", text, {"rows": list(part)})

    def prune_nodes(self, label: str, names: Sequence[str]) -> Iterator[Statement]:
        """Delete the given entities left with no evidence (refresh_nodes said c = 0; checked again)."""
        text = (f"UNWIND $rows AS name\n"
                f"MATCH (n:{self.label(label)} {{name: name}})\n"
                f"WHERE n.evidence_count = 0\n"
                f"DETACH DELETE n")
        for part in chunks(list(names), self.batch_size):
            yield Statement(f"prune {label} nodes", text, {"rows": list(part)})

    def commit_documents(self, rows: Sequence[dict]) -> Iterator[Statement]:
        """rows: [{doc_id, props}]: replaces all properties, which also clears `pending_run`."""
        text = (f"UNWIND $rows AS doc\n"
                f"MATCH (d:{self.label(DOCUMENT)} {{doc_id: doc.doc_id}})\n"
                f"SET d = doc.props")
        for part in chunks(list(rows), self.batch_size):
            yield Statement("write ledger", text, {"rows": list(part)})

    # ------------------------------------------------------------------ reads and runs
    def known_documents(self, doc_ids: Sequence[str]) -> Iterator[Statement]:
        text = (f"UNWIND $rows AS doc_id\n"
                f"MATCH (d:{self.label(DOCUMENT)} {{doc_id: doc_id}})\n"
                f"WHERE d.content_hash IS NOT NULL\n"
                f"RETURN d.doc_id AS doc_id, d.content_hash AS content_hash, "
                f"d.model_versions AS model_versions")
        for part in chunks(list(doc_ids), self.batch_size):
            yield Statement("read ledger", text, {"rows": list(part)})

    def save_run(self, run_id: str, props: dict) -> Statement:
        return Statement("save run", f"MERGE (r:{self.label(RUN)} {{run_id: $run_id}})\nSET r += $props",
                         {"run_id": run_id, "props": props})

    def close_stale_runs(self, run_id: str, finished_at: str) -> Statement:
        """Run nodes still `running` that are not this run: their process died without closing
        them (SIGKILL, power loss). Only called under the run lock, so none of them is alive."""
        return Statement("close stale runs",
                         f"MATCH (r:{self.label(RUN)}) WHERE r.status = 'running' AND r.run_id <> $run_id\n"
                         f"SET r.status = 'failed', r.finished_at = $finished_at, r.info_closed_by = $run_id\n"
                         f"RETURN r.run_id AS run_id",
                         {"run_id": run_id, "finished_at": finished_at})

    def count_statements(self) -> list[Statement]:
        """Node counts per label (Evidence also by assertion) and relationship counts per type,
        for `etl db stats`. The three Evidence kinds partition the Evidence nodes
        (batch.evidence_assertion; evidence from before assertions counts as asserted)."""
        def nodes(label: str) -> Statement:
            return Statement(f"count {label}", f"MATCH (n:{self.label(label)}) RETURN count(n) AS n")

        evidence = f"MATCH (e:{self.label(EVIDENCE)})\n"
        out = [nodes(label) for label in (*self.entity_labels(), DOCUMENT, EVIDENCE)]
        out += [
            Statement(f"count {EVIDENCE} asserted",
                      evidence + "WHERE coalesce(e.asserted, true) RETURN count(e) AS n"),
            Statement(f"count {EVIDENCE} with absent end",
                      evidence + "WHERE e.assertion = $absent RETURN count(e) AS n", {"absent": ABSENT}),
            Statement(f"count {EVIDENCE} with possible end",
                      evidence + "WHERE e.assertion = $possible RETURN count(e) AS n", {"possible": POSSIBLE}),
            nodes(RUN),
        ]
        for rel_type in self.schema.rel_types:
            out.append(Statement(f"count {rel_type}",
                                 f"MATCH ()-[r:{self.rel(rel_type)}]->() RETURN count(r) AS n"))
        return out

    # ------------------------------------------------------------------ for the linter test
    def every_statement(self) -> list[Statement]:
        """One instance of every statement shape the writers can emit (all labels, all groups)."""
        run = "run-1"
        out: list[Statement] = []
        out += self.begin_documents(["d"], run)
        out += self.retracted_evidence(["d"])
        out += self.delete_evidence(["k"])
        out += self.update_evidence([{"key": "k", "props": dict.fromkeys(EVIDENCE_PROPERTIES)}])
        for label in self.entity_labels():
            out += self.upsert_nodes(label, [{"name": "x", "full_name": None, "surface_forms": ["x"]}], run)
            out += self.refresh_nodes(label, ["x"])
            out += self.prune_nodes(label, ["x"])
        for group in self.edge_groups():
            out += self.upsert_edges(group, [{"s": "a", "o": "b", "edge_key": "k", "predicate": "p"}], run)
            out += self.create_evidence(group, [{"key": "k", "doc_id": "d", "s": "a", "o": "b",
                                                 "props": dict.fromkeys(EVIDENCE_PROPERTIES)}])
            out += self.refresh_edges(group, [{"s": "a", "o": "b", "edge_key": "k"}])
            out += self.prune_edges(group, [{"s": "a", "o": "b", "edge_key": "k"}])
        out += self.commit_documents([{"doc_id": "d", "props": {"doc_id": "d"}}])
        out += self.known_documents(["d"])
        out.append(self.save_run(run, {"status": "running"}))
        out += self.count_statements()
        return out


def _prop(name: str) -> str:
    """A property name going into Cypher text: only the fixed names of batch.EVIDENCE_PROPERTIES."""
    if not CYPHER_IDENTIFIER.match(name):
        raise ValueError(f"refusing to put {name!r} into Cypher: not a plain identifier")
    return name
