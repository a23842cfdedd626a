"""What both engines do on the driver: input rows -> quarantine | ledger | batches of documents to
extract, the stages' counts into the run report, and the gathered sink writes.

Resumability: a document's ledger entry (content hash + model versions, on its Document node) is
written in the same sink write as its evidence, so a run killed at any point leaves each document
either fully written (the next run skips it) or not (the next run redoes it). Writes are gathered
(WriteGatherer): a killed run redoes at most the documents of one write, or `graph.write_seconds`
of work.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Iterator

from etl.extract import InputSet, Quarantined, QuarantineWriter, SourceDocument, iter_rows, read_batches
from etl.records import Document, Evidence
from etl.report import Progress, RunReport
from etl.run.options import RunOptions
from etl.run.stages import COUNTED, Counts, Judged


class Driver:
    """One run's driver: its sink, report, quarantine and progress, and the model versions that
    make its ledger entries. The engines call it from several threads: the ledger reads (reader)
    and writes (writer) share one store connection, and the counts one lock."""

    def __init__(self, versions: dict[str, str], sink, report: RunReport, options: RunOptions,
                 quarantine: QuarantineWriter | None, progress: Progress | None = None):
        self.versions, self.sink, self.report = dict(versions), sink, report
        self.options, self.quarantine, self.progress = options, quarantine, progress
        self.seconds: dict[str, float] = defaultdict(float)  # per stage, the driver's and the stages'
        self.stop = threading.Event()  # set when the run must end early (a failed stage, Ctrl-C)
        self._sink_lock = threading.Lock()
        self._count_lock = threading.Lock()

    @property
    def run_id(self) -> str:
        return self.report.run_id

    def todo_batches(self, inputs: InputSet, reader=read_batches) -> Iterator[list[SourceDocument]]:
        """Input rows -> quarantined (bad rows) | skipped (unchanged, the ledger) | batches of
        documents to extract. Both engines check rows through here, on the driver; `reader` reads
        the files (etl.extract.iter_rows: pyarrow here, ray.data.read_parquet on Ray)."""
        o = self.options
        pending: list[SourceDocument] = []
        tick = time.monotonic()
        for row in iter_rows(inputs, o.max_text_chars, o.read_batch_rows, o.limit, reader):
            if self.stop.is_set():
                return
            self.report.rows_read += 1
            if isinstance(row, Quarantined):
                self.quarantine.write(row)
                self.report.documents_quarantined += 1
                self.advance(1)
                continue
            pending.append(row)
            if len(pending) >= o.read_batch_rows:
                self.timed("read", tick)
                todo = self.changed(pending)
                if todo:
                    yield todo
                pending = []
                tick = time.monotonic()
        self.timed("read", tick)
        todo = self.changed(pending) if pending else []
        if todo:
            yield todo

    def changed(self, documents: list[SourceDocument]) -> list[SourceDocument]:
        """The documents the ledger does not hold as done (all of them with `full`); the others are
        counted as skipped."""
        if self.options.full:
            return documents
        tick = time.monotonic()
        with self._sink_lock:
            known = self.sink.known_documents([d.doc_id for d in documents])
        todo = []
        for doc in documents:
            entry = known.get(doc.doc_id)
            if entry is not None and entry.content_hash == doc.content_hash and \
                    dict(entry.model_versions) == self.versions:
                self.report.documents_skipped += 1
            else:
                todo.append(doc)
        skipped = len(documents) - len(todo)
        if skipped:
            self.advance(skipped)
        self.timed("ledger", tick)
        return todo

    def count(self, counts: Counts) -> None:
        """A stage's counts into the report (and its seconds into the stage times)."""
        with self._count_lock:
            for name in COUNTED:
                setattr(self.report, name, getattr(self.report, name) + getattr(counts, name))
            for stage, seconds in counts.seconds.items():
                self.seconds[stage] += seconds

    def timed(self, stage: str, since: float) -> None:
        with self._count_lock:
            self.seconds[stage] += time.monotonic() - since

    def write(self, results: list[Judged]) -> None:
        """One sink write of `results` (documents with their evidence; the ledger goes last), counted."""
        documents = [d for d, _ in results]
        evidence = [e for _, rows in results for e in rows]
        tick = time.monotonic()
        with self._sink_lock:
            self.sink.write_documents(documents, evidence, run_id=self.report.run_id)
        self.timed("write", tick)
        self.report.graph_writes += 1
        self.written(documents, evidence)

    def written(self, documents: list[Document], evidence: list[Evidence]) -> None:
        """Count what the sink has just written (the report; progress moved when they were extracted)."""
        self.report.documents_extracted += len(documents)
        self.report.triples += len(evidence)
        for e in evidence:
            self.report.triples_by_predicate[e.predicate] = self.report.triples_by_predicate.get(e.predicate, 0) + 1
            self.report.triples_asserted += e.asserted
            for role, status in (("subject", e.subject_assertion), ("object", e.object_assertion)):
                counts = self.report.assertions.setdefault(role, {})
                counts[status] = counts.get(status, 0) + 1

    def advance(self, documents: int, triples: int = 0) -> None:
        if self.progress is not None:
            self.progress.update(documents, triples)

    def finish(self, started: float) -> RunReport:
        """The stage times and the wall time into the report, at the end of an engine's run."""
        self.report.stage_seconds = dict(self.seconds)
        self.report.wall_seconds = time.monotonic() - started
        return self.report


class WriteGatherer:
    """Finished documents gathered into few large sink writes. A write costs far more per write than
    per row (statements, round trips, plans: BENCHMARKS.md, the batch sweep: 500-triple writes are
    2-8x slower per triple than 20,000-triple ones), and a read batch of 256 notes gives only a few
    hundred triples. A write happens once `write_triples` evidence rows are waiting, once the oldest
    waiting document has waited `write_seconds` (checked as results arrive: on a slow run the graph
    still fills and a killed run redoes little), and at the end (`flush`). Each write carries its
    documents' ledger entries, so resumability is unchanged. Both engines write through here."""

    def __init__(self, driver: Driver):
        self.driver = driver
        self.results: list[Judged] = []
        self.triples = 0
        self.since: float | None = None  # when the oldest waiting document arrived

    def add(self, results: list[Judged]) -> None:
        if not results:
            return
        triples = sum(len(rows) for _, rows in results)
        self.results.extend(results)
        self.triples += triples
        self.since = self.since if self.since is not None else time.monotonic()
        self.driver.advance(len(results), triples)
        options = self.driver.options
        if self.triples >= options.write_triples or time.monotonic() - self.since >= options.write_seconds:
            self.flush()

    def flush(self) -> None:
        if self.results:
            results, self.results, self.triples, self.since = self.results, [], 0, None
            self.driver.write(results)
