"""Knowledge-graph sinks: where a run's triples go.

    from etl.graph import open_sink
    from etl.graph.records import RunRecord
    with open_sink(settings.graph, triples_out=path) as sink:
        known = sink.known_documents(ids)            # ledger: skip unchanged documents
        sink.start_run(RunRecord(run_id, started_at))
        sink.write_documents(docs, evidence, run_id=run_id)   # replace these documents' evidence
        sink.finish_run(record)

Shared by both stores: records (run records, ledger entries; the documents and evidence handed in
are etl/records.py), names (entity keys), batch (rows), counts (count changes), statements (all
Cypher), sink (interface + write protocol), parquet (--triples-out), templates (cypher/queries).
One package per store, each with its settings (read by etl/config.py), sink, dialect (schema
set-up and how to read it back) and lock target: neo4j/, falkordb/ (also its private server).
`open_sink` is the one switch from `graph.sink` to a sink class; `store_target` names the store
for the run lock.

etl/config.py imports the stores' settings modules, and so this package first: this module
imports nothing of etl at load time (the sinks inside `open_sink`), so `import etl.config` stays
cheap and finds no half-initialised module.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from etl.config import GraphSettings
    from etl.graph.sink import Sink
    from etl.schema import Schema

__all__ = ["open_sink", "store_target"]


def open_sink(settings: GraphSettings, *, schema: Schema | None = None,
              triples_out: Path | str | None = None, kind: str | None = None, shared: bool = False) -> Sink:
    """The configured sink (`graph.sink`, or `kind`), optionally also writing Parquet triples.

    `shared`: for read-only use; the embedded store is read through the server of an `etl run`
    that holds it, instead of failing with "in use", and an embedded store that does not exist is
    an error (StoreMissingError), never created."""
    from etl.graph.sink import NoneSink
    from etl.schema import load_schema

    schema = schema or load_schema()
    kind = kind or settings.sink
    if kind == "neo4j":
        from etl.graph.neo4j.sink import Neo4jSink
        sink: Sink = Neo4jSink(schema, settings.neo4j, settings.batch_size)
    elif kind == "falkordb":
        from etl.graph.falkordb.sink import FalkorDBSink
        sink = FalkorDBSink(schema, settings.falkordb, settings.batch_size, shared=shared, create=not shared)
    elif kind == "none":
        sink = NoneSink(schema)
    else:
        raise ValueError(f"unknown graph sink {kind!r}")
    if triples_out:
        from etl.graph.parquet import TeeSink, TriplesWriter
        try:
            sink = TeeSink(sink, TriplesWriter(triples_out, schema))
        except Exception:
            sink.close()
            raise
    return sink


def store_target(settings: GraphSettings, kind: str) -> str:
    """What the run lock (etl/lock.py) of a writer to store `kind` is about: the store as its
    settings name it (never a password). Two runs lock each other out iff their targets match."""
    if kind == "neo4j":
        return settings.neo4j.lock_target()
    return settings.falkordb.lock_target()
