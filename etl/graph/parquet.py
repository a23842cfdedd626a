"""`--triples-out`: every piece of evidence as one Parquet row, next to (or instead of) the graph.

Streams through one pyarrow ParquetWriter with a fixed schema (one row group per batch), so memory
stays bounded on big runs. Rows use the same normalisation and de-duplication as the graph, and
hold every piece of evidence, asserted or not (filter on `asserted`, or on the two assertion
columns, for what the graph's typed relationships count).
The rows go to a hidden temporary file beside the target (`.<name>.part-<pid>`), renamed onto the
target only when the run completes: the target is always a whole, readable file (last night's
stays in place when tonight's run fails); a part left by a killed run is removed by the next one.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from etl.errors import OutputError
from etl.graph.batch import prepare_batch
from etl.records import Document, Evidence
from etl.graph.records import LedgerEntry, RunRecord, WriteStats
from etl.graph.sink import Sink
from etl.lock import pid_alive
from etl.schema import Schema

_INT = pa.int32()
TRIPLES_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("doc_id", pa.string()), ("source_file", pa.string()),
    ("subject", pa.string()), ("subject_surface", pa.string()), ("subject_type", pa.string()),
    ("subject_label", pa.string()), ("subject_start", _INT), ("subject_end", _INT),
    ("predicate", pa.string()), ("rel_type", pa.string()),
    ("object", pa.string()), ("object_surface", pa.string()), ("object_type", pa.string()),
    ("object_label", pa.string()), ("object_start", _INT), ("object_end", _INT),
    ("score", pa.float64()), ("sentence", pa.string()), ("sentence_start", _INT), ("sentence_end", _INT),
    ("relation_model", pa.string()), ("span_model", pa.string()),
    ("evidence_key", pa.string()), ("edge_key", pa.string()),
    # What the note says of each end: present / absent / possible (batch.py validates them);
    # `asserted` = both present, the evidence a typed relationship in the graph counts.
    ("subject_assertion", pa.string()), ("object_assertion", pa.string()), ("asserted", pa.bool_()),
    ("subject_experiencer", pa.string()), ("object_experiencer", pa.string()),
    ("subject_historical", pa.bool_()), ("object_historical", pa.bool_()),
    ("assertion_model", pa.string()),
])


class TriplesWriter:
    def __init__(self, path: Path | str, schema: Schema):
        self.path = Path(path)
        self.schema = schema
        self.rows = 0
        self.part = self.path.with_name(f".{self.path.name}.part-{os.getpid()}")
        self._writer = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _remove_dead_parts(self.path)
            self._writer = pq.ParquetWriter(self.part, TRIPLES_SCHEMA, compression="zstd")
        except OSError as error:
            raise OutputError(f"cannot write triples to {self.path} (--triples-out): {error}") from None

    def write(self, documents: Sequence[Document], evidence: Iterable[Evidence], run_id: str) -> int:
        batch = prepare_batch(self.schema, documents, evidence, run_id)
        source = {doc.doc_id: doc.source_file for doc in documents}
        rows = []
        for group in sorted(batch.evidence):
            for item in batch.evidence[group]:
                row = dict(item["props"])
                row["evidence_key"] = row.pop("key")
                row["source_file"] = source.get(row["doc_id"], "")
                rows.append(row)
        if rows:
            table = pa.Table.from_pylist(rows, schema=TRIPLES_SCHEMA)
            try:
                self._writer.write_table(table)
            except OSError as error:
                raise OutputError(f"cannot write triples to {self.part} (--triples-out): {error}") from None
        self.rows += len(rows)
        return len(rows)

    def close(self, complete: bool = True) -> None:
        """Finish the file and rename it onto the target; with `complete=False` (the run failed)
        drop it and leave the target as it was."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.close()
            if complete:
                os.replace(self.part, self.path)
        except OSError as error:
            raise OutputError(f"cannot write triples to {self.path} (--triples-out): {error}") from None
        finally:
            if self.part.exists():
                self.part.unlink()


def _remove_dead_parts(target: Path) -> None:
    for part in target.parent.glob(f".{target.name}.part-*"):
        pid = part.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            part.unlink(missing_ok=True)


class TeeSink(Sink):
    """A sink that also writes every batch's evidence to Parquet (`--triples-out`)."""

    def __init__(self, inner: Sink, writer: TriplesWriter):
        self.inner = inner
        self.writer = writer
        self.kind = inner.kind

    def init_schema(self) -> list[str]:
        return self.inner.init_schema()

    def known_documents(self, doc_ids: Iterable[str]) -> dict[str, LedgerEntry]:
        return self.inner.known_documents(doc_ids)

    def write_documents(self, documents, evidence, *, run_id: str) -> WriteStats:
        evidence = list(evidence)
        stats = self.inner.write_documents(documents, evidence, run_id=run_id)
        self.writer.write(documents, evidence, run_id)  # after the graph accepted it
        return stats

    def start_run(self, run: RunRecord) -> None:
        self.inner.start_run(run)

    def finish_run(self, run: RunRecord) -> None:
        self.inner.finish_run(run)

    def query(self, text: str, params: dict | None = None) -> list[dict]:
        return self.inner.query(text, params)

    def stats(self) -> dict[str, int]:
        return self.inner.stats()

    def describe(self) -> str:
        return f"{self.inner.describe()} + triples in {self.writer.path}"

    def entities_to_normalize(self, label: str, version: str, limit: int) -> list[str]:
        return self.inner.entities_to_normalize(label, version, limit)

    def link_concepts(self, label: str, rows, version: str) -> None:
        self.inner.link_concepts(label, rows, version)

    def prune_concepts(self) -> int:
        return self.inner.prune_concepts()

    def close_stale_runs(self, run_id: str, finished_at: str) -> list[str]:
        return self.inner.close_stale_runs(run_id, finished_at)

    def close(self, complete: bool = True) -> None:
        try:
            self.writer.close(complete)
        finally:
            self.inner.close()

    def __exit__(self, exc_type, *rest) -> None:
        self.close(complete=exc_type is None)  # a failed run leaves no half file at the target
