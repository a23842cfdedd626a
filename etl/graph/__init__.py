"""Knowledge-graph sinks: where the pipeline's triples go (issue 5).

    from etl.graph import open_sink, Document, Evidence, RunRecord
    with open_sink(settings.graph, triples_out=path) as sink:
        known = sink.known_documents(ids)            # ledger: skip unchanged documents
        sink.start_run(RunRecord(run_id, started_at))
        sink.write_documents(docs, evidence, run_id=run_id)   # replace these documents' evidence
        sink.finish_run(record)

Modules: records (run records, ledger entries; the documents and evidence handed in are etl/records.py), names (entity keys), batch (rows), statements (all Cypher),
dialect (Neo4j vs FalkorDB schema set-up), sink (interface + write protocol), neo4j_sink,
falkordb_sink, falkordb_server (private server), parquet (--triples-out), templates (cypher/queries).
"""
from __future__ import annotations

from pathlib import Path

from etl.config import GraphSettings
from etl.graph.batch import InvalidEvidence
from etl.graph.names import normalize_name
from etl.records import Document, Evidence
from etl.graph.records import LedgerEntry, RunRecord, WriteStats
from etl.graph.sink import NoneSink, Sink
from etl.schema import Schema, load_schema

__all__ = ["open_sink", "Sink", "Document", "Evidence", "RunRecord", "LedgerEntry", "WriteStats",
           "InvalidEvidence", "normalize_name"]


def open_sink(settings: GraphSettings, *, schema: Schema | None = None,
              triples_out: Path | str | None = None, kind: str | None = None, shared: bool = False) -> Sink:
    """The configured sink (`graph.sink`, or `kind`), optionally also writing Parquet triples.

    `shared`: for read-only use; the embedded store is read through the server of an `etl run`
    that holds it, instead of failing with "in use", and an embedded store that does not exist is
    an error (StoreMissingError), never created."""
    schema = schema or load_schema()
    kind = kind or settings.sink
    if kind == "neo4j":
        from etl.graph.neo4j_sink import Neo4jSink
        sink: Sink = Neo4jSink(schema, settings.neo4j, settings.batch_size)
    elif kind == "falkordb":
        from etl.graph.falkordb_sink import FalkorDBSink
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
