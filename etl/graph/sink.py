"""The sink interface the pipeline writes through, without knowing which store is behind it.

Contract (what `etl run` relies on):
- `write_documents(docs, evidence, run_id=...)` replaces each given document's evidence with the
  evidence given (none is fine): writing the same batch twice leaves the graph identical; an
  entity whose last evidence went away is removed; edge aggregates (evidence and document
  counts, best and mean score) are recomputed from the asserted evidence that is left (both ends
  present), and a typed relationship with no asserted evidence left is removed. Evidence with an
  absent or possible end is kept and counted on its edge, if one exists, as absent_count /
  possible_count (statements.refresh_edges). The document's ledger entry (content hash + model
  versions) is written last, in the same write.
- `known_documents(doc_ids)` reads that ledger: `{doc_id: LedgerEntry(content_hash, versions)}`
  for documents completely written; a write cut short leaves its documents out, so they are
  processed again.
- `start_run(record)` / `finish_run(record)` keep a :Run node (times, status, counts).
- `query(text, params)` runs a read-only template; `stats()` counts; `close()` releases it all.
Sinks are context managers. Store failures surface as `SinkError` (exit code 3).
"""
from __future__ import annotations

import abc
import gc
import logging
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

from etl.errors import SinkError
from etl.graph import counts
from etl.graph.batch import PreparedBatch, prepare_batch
from etl.records import Document, Evidence
from etl.graph.records import LedgerEntry, RunRecord, WriteStats, versions_from_text
from etl.graph.statements import IndexSpec, Statement, StatementBuilder
from etl.schema import Schema
from etl.values import clean_text

log = logging.getLogger(__name__)
T = TypeVar("T")
Runner = Callable[[Statement], list]  # runs one statement, returns its rows as dicts


class Sink(abc.ABC):
    kind = "abstract"

    @abc.abstractmethod
    def init_schema(self) -> list[str]:
        """Create constraints and indexes (idempotent); returns what was run, for `etl db init`."""

    @abc.abstractmethod
    def known_documents(self, doc_ids: Iterable[str]) -> dict[str, LedgerEntry]: ...

    @abc.abstractmethod
    def write_documents(self, documents: Sequence[Document], evidence: Iterable[Evidence], *,
                        run_id: str) -> WriteStats: ...

    @abc.abstractmethod
    def start_run(self, run: RunRecord) -> None: ...

    @abc.abstractmethod
    def finish_run(self, run: RunRecord) -> None: ...

    def entities_to_normalize(self, label: str, version: str, limit: int) -> list[str]:
        """Names of up to `limit` entities of `label` not normalised by `version` (etl/normalize.py)."""
        return []

    def link_concepts(self, label: str, rows: Sequence[dict], version: str) -> None:
        """Replace the NORMALIZED_TO relationships of the named entities (rows: {name, concepts})."""

    def prune_concepts(self) -> int:
        """Delete the Concept nodes no entity is normalised to; how many."""
        return 0

    def close_stale_runs(self, run_id: str, finished_at: str) -> list[str]:
        """Mark `running` Run nodes of other (dead) runs failed; their ids. Call under the run lock."""
        return []

    @abc.abstractmethod
    def query(self, text: str, params: dict | None = None) -> list[dict]: ...

    @abc.abstractmethod
    def stats(self) -> dict[str, int]: ...

    def describe(self) -> str:
        """Where this sink writes, for logs and reports (never a password)."""
        return self.kind

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_props(run: RunRecord) -> dict:
    props: dict[str, Any] = {"run_id": run.run_id, "started_at": run.started_at, "status": run.status}
    if run.finished_at:
        props["finished_at"] = run.finished_at
    props.update({f"count_{k}": int(v) for k, v in run.counts.items()})
    props.update({f"info_{k}": clean_text(str(v)) for k, v in run.info.items()})  # e.g. the input path
    return props


@dataclass
class RecountStats:
    """What a recount of everything (CypherSink.recount) saw and did."""
    edges: int = 0  # typed relationships recounted
    edges_pruned: int = 0  # ... left with no asserted evidence, deleted
    entities: int = 0
    entities_pruned: int = 0  # ... left with no evidence, deleted
    pending_cleared: int = 0  # documents of writes cut short, no longer marked


@contextmanager
def collector_paused():
    """Python's cycle collector off for one write. A write allocates a few hundred thousand small
    objects (rows, keys, parameter text) and holds them until it ends; each allocation burst set
    off collections that walked the whole heap (in `etl run`: TensorFlow's and the models'
    objects too), a third of a 10,000-triple write's client CPU in bench_sinks. The write makes no
    reference cycles that outlive it; the collector runs again as usual afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class CypherSink(Sink):
    """Shared write protocol of the two Cypher stores; subclasses only say how to run statements.

    `_write(work)` must run `work(runner)` as one unit of work, retrying it as a whole if the
    store allows (Neo4j: one managed transaction; FalkorDB: statement by statement, which is why
    the ledger goes last). Every runner a subclass hands to `work` (reads too) goes through
    `_wrapped` first, so that `wrap_statements` sees each statement the sink runs.

    Public hooks for `etl doctor`, `etl db`, the tests and the benches (no private attribute is
    theirs to patch): `batch_size`, `index_specs()`, `schema_in_place()`, `verify_connectivity()`,
    `wrap_statements(wrap)`, `write_statements(statements)`.
    """

    def __init__(self, schema: Schema, batch_size: int, init_schema: bool = True):
        self.schema = schema
        self.builder = StatementBuilder(schema, batch_size)
        self._auto_schema = init_schema
        self._schema_ready = False
        self._wrap: Callable[[Runner], Runner] | None = None  # wrap_statements' wrapper, if any

    @abc.abstractmethod
    def _write(self, work: Callable[[Runner], T]) -> T: ...

    @abc.abstractmethod
    def _read(self, work: Callable[[Runner], T]) -> T: ...

    # ------------------------------------------------------------------ public hooks
    @property
    def batch_size(self) -> int:
        """Rows per UNWIND statement (graph.batch_size; recount pages too). Settable between
        writes: the benches sweep it on one sink."""
        return self.builder.batch_size

    @batch_size.setter
    def batch_size(self, rows: int) -> None:
        self.builder.batch_size = rows

    def index_specs(self) -> list[IndexSpec]:
        """The constraints and indexes the writers rely on (what init_schema creates)."""
        return self.builder.index_specs()

    @abc.abstractmethod
    def schema_in_place(self) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        """(unique (label, property) pairs, indexed pairs) the store holds now, read from the
        store itself (`etl doctor` compares them with index_specs())."""

    @abc.abstractmethod
    def verify_connectivity(self) -> None:
        """Return if the store answers now; else SinkError."""

    @contextmanager
    def wrap_statements(self, wrap: Callable[[Runner], Runner]) -> Iterator["CypherSink"]:
        """While the block runs, each unit of work (a write, a read, a FalkorDB index) runs its
        statements through `wrap(run)` instead of `run`, the store's runner: to watch statements,
        time them, fail or stop at one (tests, benches). Nested blocks wrap the enclosing block's
        runner: the innermost wrapper sees each statement first. Neo4j's runner keeps its
        transaction as `run.tx` for a wrapper that must run something else in it."""
        outer = self._wrap
        self._wrap = wrap if outer is None else (lambda run: wrap(outer(run)))
        try:
            yield self
        finally:
            self._wrap = outer

    def _wrapped(self, run: Runner) -> Runner:
        return run if self._wrap is None else self._wrap(run)

    def write_statements(self, statements: Iterable[Statement]) -> list[list[dict]]:
        """Run raw statements, in order, as one write (Neo4j: one transaction; FalkorDB: one
        unit, retried whole on a lost connection); each one's rows. For tests and repairs: the
        counts the write protocol keeps are not updated (`recount` redoes them)."""
        statements = list(statements)
        return self._write(lambda run: [run(statement) for statement in statements])

    def _ensure_schema(self) -> None:
        if self._auto_schema and not self._schema_ready:
            self.init_schema()
        self._schema_ready = True

    # ------------------------------------------------------------------ writing
    def write_documents(self, documents: Sequence[Document], evidence: Iterable[Evidence], *,
                        run_id: str) -> WriteStats:
        with collector_paused():
            batch = prepare_batch(self.schema, documents, evidence, run_id)
            if not batch.doc_ids:
                return WriteStats()
            self._ensure_schema()
            return self._write(lambda run: self._protocol(run, batch))

    def _protocol(self, run: Runner, batch: PreparedBatch) -> WriteStats:
        """Entities, then evidence, then the relationships it supports; the ledger last."""
        b = self.builder
        cut = [doc_id for statement in b.begin_documents(batch.doc_ids, batch.run_id)
               for row in run(statement) for doc_id in row["pending"]]
        if cut:  # a write of these documents stopped half-way: counts may not match the graph
            log.warning("%d document(s) of an earlier write that stopped half-way (e.g. %s): recounting "
                        "the evidence of every entity and relationship", len(cut), cut[0])
            self._recount(lambda work: work(run), keep=batch.doc_ids)
        # The documents' old evidence: replaced by the new, and what the count changes are made of.
        old = [row for statement in b.retracted_evidence(batch.doc_ids) for row in run(statement)]
        old_keys = {row["key"] for row in old}
        # Old evidence written again keeps its node (same key: same document, edge and spans) and
        # gets its properties set again; the rest of the old evidence is deleted. A rewrite of
        # unchanged documents thus deletes and creates nothing.
        evidence = [row for group in sorted(batch.evidence) for row in batch.evidence[group]]
        for statement in b.delete_evidence(sorted(old_keys - {row["key"] for row in evidence})):
            run(statement)
        change = counts.changes(old, [row["props"] for row in evidence])
        for label in sorted(batch.nodes):
            rows = [{"name": name, "full_name": batch.full_names.get(name), "surface_forms": forms,
                     "dc": change.nodes[(label, name)][0], "da": change.nodes[(label, name)][1]}
                    for name, forms in batch.nodes[label].items()]
            for statement in b.upsert_nodes(label, rows, batch.run_id):
                run(statement)
        for statement in b.create_evidence([row for row in evidence if row["key"] not in old_keys]):
            run(statement)
        for statement in b.update_evidence([row for row in evidence if row["key"] in old_keys]):
            run(statement)
        self._prune_edges(run, self._change_edges(run, batch, change))
        gone = [row for row in change.node_rows() if row["name"] not in batch.nodes.get(row["label"], ())]
        dead_nodes = [dead for statement in b.adjust_nodes(gone) for row in run(statement) for dead in row["dead"]]
        self._prune_nodes(run, dead_nodes)
        for statement in b.commit_documents(batch.documents):
            run(statement)
        # evidence_removed: the old evidence this write replaced (updated in place or deleted).
        return WriteStats(documents=len(batch.doc_ids), evidence=batch.evidence_count,
                          evidence_removed=len(old_keys),
                          entities=sum(len(names) for names in batch.nodes.values()),
                          relationships=sum(len(rows) for rows in batch.edges.values()))

    def _change_edges(self, run: Runner, batch: PreparedBatch, change: counts.Changes) -> dict[tuple, list[dict]]:
        """Send every edge the old or new evidence names its changes: MERGEd when asserted
        evidence of the batch supports it, else only if it exists (the old evidence may be gone,
        the new denied/possible evidence changes its absent/possible counts). An edge whose best
        score may have gone is recounted. Returns the edges left with no asserted evidence."""
        b = self.builder
        dead: dict[tuple, list[str]] = defaultdict(list)
        stale: dict[tuple, list[str]] = defaultdict(list)
        for group in sorted(change.edges):
            edges = change.edges[group]
            supported = sorted(batch.edges.get(group, ()), key=lambda row: row["edge_key"])
            rows = [edges[row["edge_key"]].row(row["predicate"]) for row in supported]
            for statement in b.upsert_edges(group, rows, batch.run_id):
                stale[group] += [key for result in run(statement) for key in result["stale"]]
            merged = {row["edge_key"] for row in supported}
            rows = [edges[key].row() for key in sorted(edges) if key not in merged and not edges[key].empty]
            for statement in b.adjust_edges(group, rows):
                for result in run(statement):
                    dead[group] += result["dead"]
                    stale[group] += result["stale"]
        for group in sorted(stale):
            rows = [change.edges[group][key].ends() for key in sorted(stale[group])]
            for statement in b.refresh_edges(group, rows):
                dead[group] += [key for result in run(statement) for key in result["dead"]]
        return {group: [change.edges[group][key].ends() for key in keys] for group, keys in dead.items()}

    def _prune_edges(self, run: Runner, dead: dict[tuple, list[dict]]) -> None:
        for group in sorted(dead):
            rows = list({row["edge_key"]: row for row in dead[group]}.values())
            for statement in self.builder.prune_edges(group, sorted(rows, key=lambda r: r["edge_key"])):
                run(statement)

    def _prune_nodes(self, run: Runner, dead: list) -> None:
        rows = sorted({(label, name) for label, name in dead})
        for statement in self.builder.prune_nodes([{"label": label, "name": name} for label, name in rows]):
            run(statement)

    def _recount(self, unit: Callable[[Callable[[Runner], T]], T], keep: Sequence[str] = ()) -> RecountStats:
        """Recount every entity's and edge's counts from the evidence in the graph, prune those
        left with none, and clear the `pending_run` markers of writes cut short (but `keep`'s).
        Page by page (builder.batch_size rows), each page one `unit` of work: inside a write
        (`_protocol`) its runner; `recount()` one store transaction per page, so a graph of
        millions of edges is never held in memory or in one transaction. Deletions wait until
        every page is counted: the pages are read by position in scan order."""
        b, size = self.builder, self.builder.batch_size
        stats = RecountStats()

        def pages(read: Callable[[Runner, int], tuple[int, list]]) -> tuple[int, list]:
            """read(run, skip) page after page, up to the first short page: rows read, what was found."""
            total, found = 0, []
            while True:
                rows, more = unit(lambda run: read(run, total))  # skip what was read
                total += rows
                found += more
                if rows < size:
                    return total, found

        dead_edges: dict[tuple, list[dict]] = {}
        for group in b.edge_groups():
            def refresh_edges(run: Runner, skip: int, group=group) -> tuple[int, list[dict]]:
                rows = run(b.edge_ends(group, skip, size))
                by_key = {row["edge_key"]: row for row in rows}
                return len(rows), [by_key[key] for statement in b.refresh_edges(group, rows)
                                   for row in run(statement) for key in row["dead"]]
            read, dead_edges[group] = pages(refresh_edges)
            stats.edges += read
            stats.edges_pruned += len(dead_edges[group])
            log.info("recount: %s-%s->%s: %d relationship(s), %d with no asserted evidence left",
                     *group, read, len(dead_edges[group]))
        unit(lambda run: self._prune_edges(run, dead_edges))
        dead_nodes: list = []
        for label in b.entity_labels():
            def refresh_nodes(run: Runner, skip: int, label=label) -> tuple[int, list]:
                rows = [{"label": label, "name": row["name"]} for row in run(b.entity_names(label, skip, size))]
                return len(rows), [dead for statement in b.refresh_nodes(rows)
                                   for row in run(statement) for dead in row["dead"]]
            read, dead = pages(refresh_nodes)
            stats.entities += read
            dead_nodes += dead
            log.info("recount: %s: %d entities, %d with no evidence left", label, read, len(dead))
        stats.entities_pruned = len(dead_nodes)
        unit(lambda run: self._prune_nodes(run, dead_nodes))
        stats.pending_cleared = unit(lambda run: sum(row["cleared"] for row in run(b.clear_pending(keep))))
        return stats

    def recount(self) -> RecountStats:
        """`etl db recount`: every count recounted from the evidence (see _recount), e.g. after a
        FalkorDB write that stopped half-way and whose documents have not come back since. Call
        it under the run lock: a write in between would change what the pages see."""
        self._ensure_schema()
        return self._recount(self._write)

    # ------------------------------------------------------------------ ledger and runs
    def known_documents(self, doc_ids: Iterable[str]) -> dict[str, LedgerEntry]:
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}

        def work(run: Runner) -> dict[str, LedgerEntry]:
            out = {}
            for statement in self.builder.known_documents(ids):
                for row in run(statement):
                    out[row["doc_id"]] = LedgerEntry(row["content_hash"],
                                                     versions_from_text(row["model_versions"]))
            return out
        return self._read(work)

    def start_run(self, run: RunRecord) -> None:
        self._ensure_schema()
        statement = self.builder.save_run(run.run_id, run_props(run))
        self._write(lambda runner: runner(statement))

    def finish_run(self, run: RunRecord) -> None:
        self.start_run(run)  # same MERGE + SET: the record is written whole each time

    # ------------------------------------------------------------------ normalisation
    def entities_to_normalize(self, label: str, version: str, limit: int) -> list[str]:
        self._ensure_schema()
        statement = self.builder.entities_to_normalize(label, version, limit)
        return [row["name"] for row in self._read(lambda run: run(statement))]

    def link_concepts(self, label: str, rows: Sequence[dict], version: str) -> None:
        statements = list(self.builder.link_concepts(label, rows, version))

        def work(run: Runner) -> None:
            for statement in statements:
                run(statement)
        self._write(work)

    def prune_concepts(self) -> int:
        statement = self.builder.prune_concepts()
        rows = self._write(lambda run: run(statement))
        return int(rows[0]["removed"]) if rows else 0

    def close_stale_runs(self, run_id: str, finished_at: str) -> list[str]:
        statement = self.builder.close_stale_runs(run_id, finished_at)
        return sorted(row["run_id"] for row in self._write(lambda runner: runner(statement)))

    # ------------------------------------------------------------------ reading
    def query(self, text: str, params: dict | None = None) -> list[dict]:
        statement = Statement("query", text, dict(params or {}))
        return self._read(lambda run: run(statement))

    def stats(self) -> dict[str, int]:
        def work(run: Runner) -> dict[str, int]:
            out = {}
            for statement in self.builder.count_statements():
                rows = run(statement)
                out[statement.name.removeprefix("count ")] = int(rows[0]["n"]) if rows else 0
            return out
        return self._read(work)


class NoneSink(Sink):
    """`graph.sink = none`: a dry run. Counts what would be written; remembers nothing."""
    kind = "none"

    def __init__(self, schema: Schema):
        self.schema = schema
        self.totals = WriteStats()

    def init_schema(self) -> list[str]:
        return []

    def known_documents(self, doc_ids: Iterable[str]) -> dict[str, LedgerEntry]:
        return {}

    def write_documents(self, documents, evidence, *, run_id: str) -> WriteStats:
        batch = prepare_batch(self.schema, documents, evidence, run_id)  # same validation
        stats = WriteStats(documents=len(batch.doc_ids), evidence=batch.evidence_count,
                           entities=sum(len(n) for n in batch.nodes.values()),
                           relationships=sum(len(r) for r in batch.edges.values()))
        self.totals = self.totals + stats
        return stats

    def start_run(self, run: RunRecord) -> None:
        pass

    def finish_run(self, run: RunRecord) -> None:
        pass

    def query(self, text: str, params: dict | None = None) -> list[dict]:
        raise SinkError("no graph store is configured (graph.sink = none): nothing to query")

    def stats(self) -> dict[str, int]:
        return {}

