"""Every Cypher statement the graph writers send, built in one place.

Rules enforced here:
- labels and relationship types come only from the schema whitelist (plus the provenance names
  below) and must be plain identifiers: `_name()` refuses anything else, whatever the caller;
- every value is a parameter ($rows, $run_id, ...): no value is ever formatted into the text;
- data statements are `UNWIND $rows AS row ...`, one per (label) or (subject label, relationship
  type, object label) group, chunked to `batch_size` rows.

The statements are plain openCypher that both Neo4j 5 and FalkorDB run unchanged; the only
dialect difference (schema set-up) lives in each store's package (neo4j/dialect.py,
falkordb/dialect.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

from etl.graph.batch import EVIDENCE_PROPERTIES
from etl.graph.counts import EDGE_CHANGE_FIELDS
from etl.records import ABSENT, POSSIBLE
from etl.schema import CYPHER_IDENTIFIER, Schema

# Provenance vocabulary (not from the CMeIE schema, but fixed here and whitelisted the same way).
ENTITY = "Entity"  # second label on every entity node: lets templates look a name up by any type
DOCUMENT = "Document"
EVIDENCE = "Evidence"
RUN = "Run"
CONCEPT = "Concept"  # a standard name of a code system (ICD-10), the target of normalisation
HAS_EVIDENCE = "HAS_EVIDENCE"
SUBJECT = "SUBJECT"
OBJECT = "OBJECT"
NORMALIZED_TO = "NORMALIZED_TO"
INTERNAL_LABELS = (ENTITY, DOCUMENT, EVIDENCE, RUN, CONCEPT)
INTERNAL_REL_TYPES = (HAS_EVIDENCE, SUBJECT, OBJECT, NORMALIZED_TO)

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


# Evidence rows travel as lists in EVIDENCE_PROPERTIES order, not as maps: with 35 properties
# the key names were most of the bytes, and FalkorDB parses every parameter as Cypher text
# (10,000 evidence rows: 9.8 MB as maps, 3.6 MB as lists; the CREATE ran 13x faster).
def _at(name: str) -> str:
    """The Cypher expression reading property `name` from a positional evidence row."""
    return f"row[{EVIDENCE_PROPERTIES.index(_prop(name))}]"


def evidence_values(props: dict) -> list:
    return [props[name] for name in EVIDENCE_PROPERTIES]


def _ch(name: str) -> str:
    """The Cypher expression reading `name` from an edge change row (counts.EdgeChange.row: a
    list too, 10,000 of them per write)."""
    return f"row[{EDGE_CHANGE_FIELDS.index(name)}]"


class StatementBuilder:
    def __init__(self, schema: Schema, batch_size: int = 2000):
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        self.schema = schema
        self.batch_size = batch_size
        self._labels = frozenset(schema.labels) | frozenset(INTERNAL_LABELS)
        self._rel_types = frozenset(schema.rel_types) | frozenset(INTERNAL_REL_TYPES)

    def _chunked(self, name: str, text: str, rows: Sequence, **params) -> Iterator[Statement]:
        """`text` (an UNWIND over $rows) once per `batch_size` rows, with the same other params."""
        rows = list(rows)
        for part in chunks(rows, self.batch_size):
            yield Statement(name, text, {"rows": list(part), **params})

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
            IndexSpec(self.label(CONCEPT), "name", True),
            IndexSpec(self.label(CONCEPT), "code", False),
        ]
        return specs

    # ------------------------------------------------------------------ the write protocol
    # Order (sink.py): begin (and recount everything if an earlier write stopped half-way) ->
    # find the old evidence, delete what is not written again -> entities (MERGE, counts
    # changed by difference) -> evidence (new:
    # create; same key: update) -> relationships asserted evidence supports (MERGE, aggregates
    # changed by difference) -> change the other relationships the batch touched, recount stale
    # best scores, prune those left with none -> change the counts of entities only the old
    # evidence named, prune -> commit the ledger.
    # The ledger is written last, so a write cut short anywhere leaves the document without a
    # content hash and the next run writes it again.
    #
    # Only statements on edges need a label and type in their text (one statement per schema
    # triple), and the entity MERGE one per label; evidence and entity refreshes find entities
    # by the shared :Entity(name) index and check the label as a value (`row.label IN
    # labels(n)`), so each is one statement for the whole batch: a statement costs planning and
    # a round trip, and most writes touch most of the 53 groups.
    def begin_documents(self, doc_ids: Sequence[str], run_id: str) -> Iterator[Statement]:
        """Mark the documents as being written (no ledger entry, `pending_run`); returns one row,
        `pending`: those already marked, by a write that was cut short (sink._protocol)."""
        text = (f"UNWIND $rows AS doc_id\n"
                f"MERGE (d:{self.label(DOCUMENT)} {{doc_id: doc_id}})\n"
                f"WITH d, d.pending_run IS NOT NULL AS cut\n"
                f"SET d.content_hash = null, d.pending_run = $run_id\n"
                f"RETURN collect(CASE WHEN cut THEN d.doc_id END) AS pending")
        return self._chunked("begin documents", text, doc_ids, run_id=run_id)

    def clear_pending(self, keep: Sequence[str]) -> Statement:
        """After a recount of everything (sink._recount): the documents of writes cut short,
        other than `keep`, no longer need one. They keep no ledger entry, so they are written
        again when they come back. Returns one row, `cleared`."""
        return Statement("clear pending documents",
                         f"MATCH (d:{self.label(DOCUMENT)}) WHERE d.pending_run IS NOT NULL "
                         f"AND NOT d.doc_id IN $keep\n"
                         f"SET d.pending_run = null\n"
                         f"RETURN count(d) AS cleared", {"keep": list(keep)})

    def retracted_evidence(self, doc_ids: Sequence[str]) -> Iterator[Statement]:
        """The documents' current evidence: what its counts depend on (counts.SUMMARY_FIELDS; evidence
        from before assertions counts as asserted). HAS_EVIDENCE only ever leads to Evidence, so
        `ev` has no label: with one, Neo4j planned (from the statistics of a young graph) a scan
        of the Evidence index joined to the documents, a cost that grows with the graph; without,
        the only start is the document's unique key. The list's variable is not `doc_id`: with
        `... AS doc_id` in the RETURN as well, Neo4j scanned the Document index (O(documents) per
        document) instead of seeking the key."""
        text = (f"UNWIND $rows AS id\n"
                f"MATCH (:{self.label(DOCUMENT)} {{doc_id: id}})-[:{self.rel(HAS_EVIDENCE)}]->(ev)\n"
                f"RETURN ev.key AS key, ev.edge_key AS edge_key, id AS doc_id, "
                f"ev.subject_label AS subject_label, ev.subject AS subject, ev.rel_type AS rel_type, "
                f"ev.object_label AS object_label, ev.object AS object, ev.score AS score, "
                f"ev.assertion AS assertion, coalesce(ev.asserted, true) AS asserted")
        return self._chunked("find old evidence", text, doc_ids)

    def delete_evidence(self, keys: Sequence[str]) -> Iterator[Statement]:
        """Old evidence the new write does not have again (by its constrained key)."""
        text = (f"UNWIND $rows AS key\n"
                f"MATCH (ev:{self.label(EVIDENCE)} {{key: key}})\n"
                f"DETACH DELETE ev\n"
                f"RETURN count(*) AS removed")
        return self._chunked("delete old evidence", text, keys)

    def upsert_nodes(self, label: str, rows: Sequence[dict], run_id: str) -> Iterator[Statement]:
        """rows: [{name, full_name, surface_forms, dc, da}]; `name` is the bounded key (names.py),
        `full_name` only set for huge names; surface forms are a set kept in first-seen order; dc
        and da: the batch's change in the entity's evidence and asserted counts (counts.Changes).

        Two statements per chunk instead of one MERGE: create the entities that do not exist yet
        (empty, counts 0), then update them all by their unique key. FalkorDB ran a MERGE of an
        existing entity 1.8x slower than a lookup + SET (BENCHMARKS.md: the probe
        bench/falkordb_op_growth.py, in commit 4c5064f), and most entities of a write exist already.
        The run lock makes this writer the only one."""
        create = (f"UNWIND $rows AS row\n"
                  f"OPTIONAL MATCH (n:{self.label(label)} {{name: row.name}})\n"
                  f"WITH row, n WHERE n IS NULL\n"
                  f"CREATE (:{self.label(label)}:{self.label(ENTITY)} {{name: row.name, first_run: $run_id, "
                  f"surface_forms: [], evidence_count: 0, asserted_count: 0, full_name: row.full_name}})")
        update = (f"UNWIND $rows AS row\n"
                  f"MATCH (n:{self.label(label)} {{name: row.name}})\n"
                  f"SET n.surface_forms = n.surface_forms + [s IN row.surface_forms WHERE NOT s IN n.surface_forms], "
                  f"n.evidence_count = n.evidence_count + row.dc, n.asserted_count = n.asserted_count + row.da, "
                  f"n.last_run = $run_id")
        for part in chunks(list(rows), self.batch_size):
            created = [{"name": row["name"], "full_name": row["full_name"]} for row in part]
            yield Statement(f"create {label} nodes", create, {"rows": created, "run_id": run_id})
            yield Statement(f"merge {label} nodes", update, {"rows": [
                {"name": row["name"], "surface_forms": row["surface_forms"], "dc": row["dc"], "da": row["da"]}
                for row in part], "run_id": run_id})

    def _entity(self, var: str, name: str, label: str) -> str:
        """MATCH an entity by the :Entity(name) index, its label checked as a value: the same name
        may be an entity of several types (发热 a Symptom and a Disease)."""
        return f"MATCH ({var}:{self.label(ENTITY)} {{name: {name}}}) WHERE {label} IN labels({var})\n"

    def _edge(self, group: tuple[str, str, str], s: str = "row.s", o: str = "row.o") -> str:
        """MATCH an edge of the group by its ends' unique keys (rows {s, o, edge_key}). Typed, not
        by edge_key alone: FalkorDB expands an untyped `-[r]->` over every relationship type's
        matrix (10,000 rows: 6.8 s untyped, per group a fraction of that)."""
        s_label, rel_type, o_label = group
        return (f"MATCH (s:{self.label(s_label)} {{name: {s}}})-[r:{self.rel(rel_type)}]->"
                f"(o:{self.label(o_label)} {{name: {o}}})\n")

    def upsert_edges(self, group: tuple[str, str, str], rows: Sequence[dict],
                     run_id: str) -> Iterator[Statement]:
        """rows: counts.EdgeChange.row() lists (s, o, edge_key, predicate, changes):
        the edges the batch's asserted evidence supports, MERGEd after that evidence was written,
        with their aggregates changed in the same statement (_apply_changes). An edge this MERGE
        creates is counted instead (marked by evidence_count -1 until then): other documents'
        denied evidence may name it already. `last_run`: the last run that wrote asserted
        evidence. Returns one row, `stale` (_apply_changes)."""
        s_label, rel_type, o_label = group
        text = (f"UNWIND $rows AS row\n"
                f"MATCH (s:{self.label(s_label)} {{name: {_ch('s')}}})\n"
                f"MATCH (o:{self.label(o_label)} {{name: {_ch('o')}}})\n"
                f"MERGE (s)-[r:{self.rel(rel_type)}]->(o)\n"
                f"ON CREATE SET r.predicate = {_ch('predicate')}, r.edge_key = {_ch('edge_key')}, "
                f"r.first_run = $run_id, r.evidence_count = -1\n"
                f"SET r.last_run = $run_id\n"
                f"WITH row, r, r.evidence_count < 0 AS fresh\n" +
                self._apply_changes("RETURN collect(CASE WHEN stale THEN r.edge_key END) AS stale"))
        return self._chunked(f"merge {s_label}-{rel_type}->{o_label}", text, rows, run_id=run_id,
                             absent=ABSENT, possible=POSSIBLE)

    def adjust_edges(self, group: tuple[str, str, str], rows: Sequence[dict]) -> Iterator[Statement]:
        """Change the aggregates of existing edges the batch did not MERGE (rows as upsert_edges,
        predicate null): those of the documents' old evidence, and those its denied/possible
        evidence counts on; edges that do not exist are no-ops. Returns one row: `dead`, the edge
        keys left with no asserted evidence (for prune_edges), and `stale` (_apply_changes)."""
        text = ("UNWIND $rows AS row\n" + self._edge(group, _ch("s"), _ch("o")) +
                "WITH row, r, false AS fresh\n" +
                self._apply_changes("RETURN collect(CASE WHEN n = 0 THEN r.edge_key END) AS dead, "
                                    "collect(CASE WHEN stale THEN r.edge_key END) AS stale"))
        return self._chunked(f"adjust {'-'.join(group[:2])}->{group[2]}", text, rows,
                             absent=ABSENT, possible=POSSIBLE)

    def create_evidence(self, rows: Sequence[dict]) -> Iterator[Statement]:
        """rows: [{props}], props holding exactly EVIDENCE_PROPERTIES, sent as lists in that
        order (evidence_values): evidence the graph does not hold yet (the protocol found the
        documents' old evidence first), of any group. CREATE, not MERGE: the unique key
        constraint refuses a duplicate anyway. The properties are named one by one: a map
        (`SET ev += ...`) made Neo4j plan an Eager over the whole batch."""
        props = ", ".join(f"{_prop(name)}: {_at(name)}" for name in EVIDENCE_PROPERTIES)
        text = (f"UNWIND $rows AS row\n"
                f"MATCH (d:{self.label(DOCUMENT)} {{doc_id: {_at('doc_id')}}})\n" +
                self._entity("s", _at("subject"), _at("subject_label")) +
                self._entity("o", _at("object"), _at("object_label")) +
                f"CREATE (d)-[:{self.rel(HAS_EVIDENCE)}]->(ev:{self.label(EVIDENCE)} {{{props}}}),\n"
                f"       (ev)-[:{self.rel(SUBJECT)}]->(s), (ev)-[:{self.rel(OBJECT)}]->(o)")
        return self._chunked("write evidence", text, [evidence_values(row["props"]) for row in rows])

    def update_evidence(self, rows: Sequence[dict]) -> Iterator[Statement]:
        """rows: [{props}]: evidence the graph already holds under the same key. The key is a
        hash of the document, the edge and the spans (batch._evidence_row), so its document,
        subject and object links are already right: only the properties are set again (all but
        the key, read from lists as in create_evidence)."""
        sets = ", ".join(f"ev.{_prop(name)} = {_at(name)}" for name in EVIDENCE_PROPERTIES if name != "key")
        text = (f"UNWIND $rows AS row\n"
                f"MATCH (ev:{self.label(EVIDENCE)} {{key: {_at('key')}}})\n"
                f"SET {sets}")
        return self._chunked("update evidence", text, [evidence_values(row["props"]) for row in rows])

    def _count_evidence(self, key: str, keep: str, prefix: str) -> str:
        """Count the evidence holding edge key `key` (none when `key` is null): {prefix}n,
        {prefix}docs, {prefix}best, {prefix}micros over asserted evidence (both ends present),
        {prefix}absent: evidence with an absent end; {prefix}possible: with a possible end and no
        absent end (batch.evidence_assertion). Evidence written before assertions existed has no
        `asserted` property and counts as asserted, as it did then. Scores are summed in integer
        millionths (counts.micros), as the differences are (toInteger: FalkorDB sums to a float)."""
        p = prefix
        return (f"OPTIONAL MATCH (ev:{self.label(EVIDENCE)} {{edge_key: {key}}})\n"
                f"WITH {keep}, ev, CASE WHEN coalesce(ev.asserted, ev IS NOT NULL) THEN ev END AS yes\n"
                f"WITH {keep}, count(yes) AS {p}n, count(DISTINCT yes.doc_id) AS {p}docs, "
                f"max(yes.score) AS {p}best, toInteger(sum(toInteger(round(yes.score * 1000000)))) AS {p}micros, "
                f"count(CASE ev.assertion WHEN $absent THEN 1 END) AS {p}absent, "
                f"count(CASE ev.assertion WHEN $possible THEN 1 END) AS {p}possible\n")

    @staticmethod
    def _set_aggregates(returns: str) -> str:
        """SET edge r's aggregates from n, docs, best, micros, absent, possible."""
        return (f"SET r.evidence_count = n, r.doc_count = docs, r.score_micros = micros, "
                f"r.best_score = CASE WHEN n > 0 THEN best END, "
                f"r.mean_score = CASE WHEN n > 0 THEN round(toFloat(micros) / n) / {_SCORE_DIGITS} END, "
                f"r.absent_count = absent, r.possible_count = possible\n" + returns)

    def _apply_changes(self, returns: str) -> str:
        """Edge r's aggregates plus the row's changes (counts.EdgeChange, a list in
        EDGE_CHANGE_FIELDS order), or counted (_count_evidence) when `fresh`. `stale`: the best
        score may have gone (lost >= best) or the edge predates `score_micros`; the sink
        recounts those (refresh_edges)."""
        key, lost, best = _ch("edge_key"), _ch("lost"), _ch("best")
        return (f"WITH row, r, fresh, CASE WHEN fresh THEN {key} END AS recount\n" +
                self._count_evidence("recount", "row, r, fresh", "c_") +
                f"WITH row, r, NOT fresh AND (r.score_micros IS NULL OR {lost} >= r.best_score) AS stale,\n"
                f"     CASE WHEN fresh THEN c_n ELSE r.evidence_count + {_ch('dn')} END AS n,\n"
                f"     CASE WHEN fresh THEN c_docs ELSE r.doc_count + {_ch('dd')} END AS docs,\n"
                f"     CASE WHEN fresh THEN c_micros ELSE r.score_micros + {_ch('dm')} END AS micros,\n"
                f"     CASE WHEN fresh THEN c_absent ELSE r.absent_count + {_ch('da')} END AS absent,\n"
                f"     CASE WHEN fresh THEN c_possible ELSE r.possible_count + {_ch('dp')} END AS possible,\n"
                f"     CASE WHEN fresh THEN c_best WHEN {best} IS NULL OR {best} <= r.best_score "
                f"THEN r.best_score ELSE {best} END AS best\n" +
                self._set_aggregates(returns))

    def refresh_edges(self, group: tuple[str, str, str], rows: Sequence[dict]) -> Iterator[Statement]:
        """Recount the aggregates of existing edges (_count_evidence): those whose best score a
        difference cannot tell (stale), and every edge after a write was cut short. Returns one
        row, `dead`: the edge keys left with no asserted evidence, to send to prune_edges.
        rows: [{s, o, edge_key}] (edges that do not exist are no-ops)."""
        text = ("UNWIND $rows AS row\n" + self._edge(group) +
                self._count_evidence("row.edge_key", "r", "") +
                self._set_aggregates("RETURN collect(CASE WHEN n = 0 THEN r.edge_key END) AS dead"))
        return self._chunked(f"refresh {'-'.join(group[:2])}->{group[2]}", text, rows,
                             absent=ABSENT, possible=POSSIBLE)

    def prune_edges(self, group: tuple[str, str, str], rows: Sequence[dict]) -> Iterator[Statement]:
        """Delete the given edges left with no asserted evidence (refresh_edges said n = 0; the
        condition is checked again here). A statement of its own: FalkorDB 4.16 drops the SETs of
        a statement whose rows are filtered out by a later `WITH ... WHERE` (measured), so no
        SET-then-filter."""
        text = ("UNWIND $rows AS row\n" + self._edge(group) +
                "WHERE r.evidence_count = 0\n"
                "DELETE r")
        return self._chunked(f"prune {'-'.join(group[:2])}->{group[2]}", text, rows)

    def refresh_nodes(self, rows: Sequence[dict]) -> Iterator[Statement]:
        """Recount (after a write was cut short; writes change counts by adjust_nodes) evidence
        counts from the entities' SUBJECT/OBJECT links (all, and asserted as in
        refresh_edges); rows [{label, name}] of any label; returns one row, `dead`: [label, name]
        of the entities left without any evidence, to send to prune_nodes. A finding only
        ever denied keeps its node (evidence_count > 0, asserted_count = 0) and has no typed
        relationship."""
        # OPTIONAL MATCH + count, not size([pattern comprehension]): FalkorDB evaluated the
        # comprehension 7x slower (724 entities of a 40k-triple graph: 155 ms against 22 ms).
        # SUBJECT and OBJECT links are counted apart: FalkorDB's `[:SUBJECT|OBJECT]` sees one
        # link where an evidence has the entity at both ends (疾病 -并发症-> the same 疾病).
        def count(role: str, ev: str, keep: str) -> str:
            return (f"OPTIONAL MATCH (n)<-[:{self.rel(role)}]-({ev}:{self.label(EVIDENCE)})\n"
                    f"WITH row, n, {keep}count({ev}) AS {ev}_c, "
                    f"count(CASE WHEN {ev} IS NOT NULL AND coalesce({ev}.asserted, true) THEN 1 END) AS {ev}_a\n")
        text = ("UNWIND $rows AS row\n" + self._entity("n", "row.name", "row.label") +
                count(SUBJECT, "se", "") + count(OBJECT, "oe", "se_c, se_a, ") +
                "SET n.evidence_count = se_c + oe_c, n.asserted_count = se_a + oe_a\n"
                "RETURN collect(CASE WHEN se_c + oe_c = 0 THEN [row.label, n.name] END) AS dead")
        return self._chunked("refresh nodes", text, rows)

    def adjust_nodes(self, rows: Sequence[dict]) -> Iterator[Statement]:
        """Change the counts of entities the batch's evidence no longer names (the others get
        theirs in upsert_nodes): rows [{label, name, dc, da}] (counts.Changes.node_rows). Returns one
        row, `dead`: [label, name] of the entities left without any evidence, to send to prune_nodes."""
        text = ("UNWIND $rows AS row\n" + self._entity("n", "row.name", "row.label") +
                "WITH row, n, n.evidence_count + row.dc AS c\n"
                "SET n.evidence_count = c, n.asserted_count = n.asserted_count + row.da\n"
                "RETURN collect(CASE WHEN c = 0 THEN [row.label, n.name] END) AS dead")
        return self._chunked("adjust nodes", text, rows)

    def prune_nodes(self, rows: Sequence[dict]) -> Iterator[Statement]:
        """Delete the given entities ([{label, name}]) left with no evidence (refresh_nodes said
        c = 0; checked again)."""
        text = ("UNWIND $rows AS row\n" + self._entity("n", "row.name", "row.label") +
                "  AND n.evidence_count = 0\n"
                "DETACH DELETE n")
        return self._chunked("prune nodes", text, rows)

    def commit_documents(self, rows: Sequence[dict]) -> Iterator[Statement]:
        """rows: [{doc_id, props}]: replaces all properties, which also clears `pending_run`."""
        text = (f"UNWIND $rows AS doc\n"
                f"MATCH (d:{self.label(DOCUMENT)} {{doc_id: doc.doc_id}})\n"
                f"SET d = doc.props")
        return self._chunked("write ledger", text, rows)

    # ------------------------------------------------------------------ reads and runs
    def known_documents(self, doc_ids: Sequence[str]) -> Iterator[Statement]:
        text = (f"UNWIND $rows AS doc_id\n"
                f"MATCH (d:{self.label(DOCUMENT)} {{doc_id: doc_id}})\n"
                f"WHERE d.content_hash IS NOT NULL\n"
                f"RETURN d.doc_id AS doc_id, d.content_hash AS content_hash, "
                f"d.model_versions AS model_versions")
        return self._chunked("read ledger", text, doc_ids)

    def entity_names(self, label: str, skip: int = 0, limit: int | None = None) -> Statement:
        """One page of the entities of a label (for a recount of everything; sink._recount)."""
        return Statement(f"read {label} names", f"MATCH (n:{self.label(label)}) RETURN n.name AS name\n"
                         f"SKIP $skip LIMIT $limit", {"skip": skip, "limit": limit or self.batch_size})

    def edge_ends(self, group: tuple[str, str, str], skip: int = 0, limit: int | None = None) -> Statement:
        """One page of the edges of a group, as refresh_edges rows (for a recount of everything).
        Pages by SKIP in scan order: the recount changes properties only (it prunes at the end),
        and the run lock keeps writers out, so the order holds from one page to the next."""
        s_label, rel_type, o_label = group
        return Statement(f"read {'-'.join(group[:2])}->{o_label} edges",
                         f"MATCH (s:{self.label(s_label)})-[r:{self.rel(rel_type)}]->(o:{self.label(o_label)})\n"
                         f"RETURN s.name AS s, o.name AS o, r.edge_key AS edge_key\n"
                         f"SKIP $skip LIMIT $limit", {"skip": skip, "limit": limit or self.batch_size})

    # ------------------------------------------------------------------ normalisation (etl/normalize.py)
    # An entity carries `normalized_by` = the normaliser version that linked it; entities without it
    # or with another version are (re-)normalised, in pages, after the documents are written. One
    # Concept per standard name (MERGE on the unique name); its code may be null (a CHIP-CDN name
    # outside the vocabulary, system CHIP-CDN).
    def entities_to_normalize(self, label: str, version: str, limit: int | None = None) -> Statement:
        return Statement(f"read {label} names to normalise",
                         f"MATCH (n:{self.label(label)})\n"
                         f"WHERE n.normalized_by IS NULL OR n.normalized_by <> $version\n"
                         f"RETURN n.name AS name LIMIT $limit", {"version": version, "limit": limit or self.batch_size})

    def link_concepts(self, label: str, rows: Sequence[dict], version: str) -> Iterator[Statement]:
        """rows: [{name, concepts: [{system, code, name, score}]}]: the entity's old NORMALIZED_TO
        relationships go, the given ones are made, and the entity is marked with `version`."""
        clear = (f"UNWIND $rows AS row\n"
                 f"MATCH (n:{self.label(label)} {{name: row.name}})-[r:{self.rel(NORMALIZED_TO)}]->()\n"
                 f"DELETE r")
        link = (f"UNWIND $rows AS row\n"
                f"MATCH (n:{self.label(label)} {{name: row.name}})\n"
                f"SET n.normalized_by = $version\n"
                f"WITH n, row UNWIND row.concepts AS c\n"
                f"MERGE (k:{self.label(CONCEPT)} {{name: c.name}})\n"
                f"SET k.code = c.code, k.system = c.system\n"
                f"MERGE (n)-[r:{self.rel(NORMALIZED_TO)}]->(k)\n"
                f"SET r.score = c.score, r.model = $version")
        for part in chunks(list(rows), self.batch_size):
            names = [{"name": row["name"]} for row in part]
            yield Statement(f"clear {label} concepts", clear, {"rows": names})
            yield Statement(f"link {label} concepts", link, {"rows": list(part), "version": version})

    def prune_concepts(self) -> Statement:
        """Concepts no entity is normalised to any more (their entities were pruned or relinked)."""
        return Statement("prune concepts",
                         f"MATCH (k:{self.label(CONCEPT)})\n"
                         f"OPTIONAL MATCH (k)<-[r:{self.rel(NORMALIZED_TO)}]-()\n"
                         f"WITH k, count(r) AS c WHERE c = 0\n"
                         f"DELETE k\n"
                         f"RETURN count(*) AS removed")

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
            nodes(CONCEPT),
        ]
        for rel_type in (*self.schema.rel_types, NORMALIZED_TO):
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
        props = dict.fromkeys(EVIDENCE_PROPERTIES)
        out += self.create_evidence([{"props": props}])
        out += self.update_evidence([{"props": props}])
        for label in self.entity_labels():
            node = {"name": "x", "full_name": None, "surface_forms": ["x"], "dc": 1, "da": 1}
            out += self.upsert_nodes(label, [node], run)
        change = ["a", "b", "k", "p", 1, 1, 500000, 0, 0, 0.5, None]
        for group in self.edge_groups():
            out += self.upsert_edges(group, [change], run)
            out += self.adjust_edges(group, [change])
            out += self.refresh_edges(group, [{"s": "a", "o": "b", "edge_key": "k"}])
            out.append(self.edge_ends(group))
            out += self.prune_edges(group, [{"s": "a", "o": "b", "edge_key": "k"}])
        out += self.adjust_nodes([{"label": "Disease", "name": "x", "dc": 1, "da": 1}])
        out += self.refresh_nodes([{"label": "Disease", "name": "x"}])
        out += [self.entity_names(label) for label in self.entity_labels()]
        out.append(self.clear_pending(["d"]))
        out += self.prune_nodes([{"label": "Disease", "name": "x"}])
        out += self.commit_documents([{"doc_id": "d", "props": {"doc_id": "d"}}])
        out += self.known_documents(["d"])
        out.append(self.save_run(run, {"status": "running"}))
        out += self.count_statements()
        out.append(self.entities_to_normalize("Disease", "normalizer-x"))
        out += self.link_concepts("Disease", [{"name": "x", "concepts": [
            {"system": "s", "code": "c", "name": "n", "score": 0.9}]}], "normalizer-x")
        out.append(self.prune_concepts())
        return out


def _prop(name: str) -> str:
    """A property name going into Cypher text: only the fixed names of batch.EVIDENCE_PROPERTIES."""
    if not CYPHER_IDENTIFIER.match(name):
        raise ValueError(f"refusing to put {name!r} into Cypher: not a plain identifier")
    return name
