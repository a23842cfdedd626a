"""`etl run --engine local`: the stages on six threads joined by bounded queues, so reading,
tokenising, the models and graph writing overlap, and memory stays bounded whatever the input size:

    reader      rows -> quarantine | ledger check (skip unchanged) -> windows, tokens  --q_docs-->
    conditions  the main condition of each note, its windows read as `X@window`         --q_rels-->
    relations   stage 1 over a batch of windows from many documents                    --q_spans-->
    spans       stage 2 for every predicted relation, merge, the note rules            --q_assert-->
    assertions  stage 3: present / absent / possible for every subject and object      --q_write-->
    writer      finished documents gathered, then sink.write_documents(documents, evidence)
                (+ triples Parquet) once per ~graph.write_triples evidence rows, progress

The model stages are compute-bound; running them on separate threads lets one stage's Python
work (batching, decoding, merging, rules) proceed while another's TensorFlow graph runs. The
stages are etl/run/stages.py's functions; the reader and writer are the driver's (etl/run/driver.py).
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Callable

from etl.extract import InputSet
from etl.report import RunReport
from etl.run import stages
from etl.run.driver import Driver, WriteGatherer
from etl.run.stages import Models

_END = object()  # end-of-stream marker between stages


def run_threads(models: Models, driver: Driver, inputs: InputSet) -> RunReport:
    """Run every stage over `inputs` on threads; the first stage failure is raised here."""
    return _Threads(models, driver).run(inputs)


class _Threads:
    def __init__(self, models: Models, driver: Driver):
        self.models, self.driver, self.options = models, driver, driver.options
        self._stop = driver.stop
        self._errors: list[BaseException] = []

    def run(self, inputs: InputSet) -> RunReport:
        started = time.monotonic()
        q_docs, q_rels, q_spans, q_assert, q_write = (queue.Queue(maxsize=self.options.queue_size) for _ in range(5))
        threads = [threading.Thread(target=self._guard, args=args, name=name) for name, args in (
            ("etl-reader", (self._read, inputs, q_docs)),
            ("etl-conditions", (self._relay, q_docs, q_rels, lambda items: stages.conditions(self.models, items))),
            ("etl-relations", (self._relations, q_rels, q_spans)),
            ("etl-assertions", (self._relay, q_assert, q_write, lambda found: stages.assertions(self.models, found))),
            ("etl-writer", (self._write, q_write)))]
        for thread in threads:
            thread.start()
        try:
            self._guard(self._spans, q_spans, q_assert)
        finally:
            try:
                self._put(q_assert, _END, force=True)
                if self._errors:
                    self._stop.set()
                for thread in threads:
                    thread.join()
            except BaseException:  # Ctrl-C / SIGTERM while waiting: stop every stage, then wait
                self._stop.set()
                for thread in threads:
                    thread.join()
                raise
        self.driver.finish(started)
        if self._errors:
            raise self._errors[0]
        return self.driver.report

    def _guard(self, target: Callable, *args) -> None:
        try:
            target(*args)
        except BaseException as error:  # noqa: BLE001  (re-raised on the main thread)
            self._errors.append(error)
            self._stop.set()

    def _put(self, q: queue.Queue, item, force: bool = False) -> bool:
        """Put unless the run is stopping (a failed stage must not leave others blocked)."""
        while True:
            if self._stop.is_set() and not force:
                return False
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                if self._stop.is_set() and force:
                    return False

    def _get(self, q: queue.Queue):
        while True:
            try:
                return q.get(timeout=0.2)
            except queue.Empty:
                if self._stop.is_set():
                    return _END

    def _counted(self, result):
        """A stage's (output, counts): the counts to the driver, the output on."""
        output, counts = result
        self.driver.count(counts)
        return output

    # ----------------------------------------------------------------- the threads
    def _read(self, inputs: InputSet, q_docs: queue.Queue) -> None:
        try:
            for todo in self.driver.todo_batches(inputs):
                if not self._put(q_docs, self._counted(stages.prepare(self.models, self.options, todo))):
                    return
        finally:
            self._put(q_docs, _END, force=True)

    def _relay(self, q_in: queue.Queue, q_out: queue.Queue, stage: Callable) -> None:
        """A stage's thread: each batch from `q_in` through `stage` (output and counts) to `q_out`, and
        the end marker passed on however the loop ends. The conditions (the main condition of each
        note of a batch, one span-model call over all their windows) and the assertions (every
        subject and object of a batch of documents at once) run so."""
        try:
            while True:
                batch = self._get(q_in)
                if batch is _END:
                    return
                if not self._put(q_out, self._counted(stage(batch))):
                    return
        finally:
            self._put(q_out, _END, force=True)

    def _relations(self, q_rels: queue.Queue, q_spans: queue.Queue) -> None:
        """Stage 1 over batches of windows gathered from as many documents as are waiting."""
        try:
            batch: list = []
            while True:
                items = self._get(q_rels)
                if items is _END:
                    break
                batch.extend(items)
                if sum(len(i.windows) for i in batch) >= self.options.model_batch_windows or q_rels.empty():
                    self._put(q_spans, (batch, self._counted(stages.relations(self.models, batch))))
                    batch = []
            if batch and not self._stop.is_set():
                self._put(q_spans, (batch, self._counted(stages.relations(self.models, batch))))
        finally:
            self._put(q_spans, _END, force=True)

    def _spans(self, q_spans: queue.Queue, q_assert: queue.Queue) -> None:
        """Stage 2 for every predicted relation, then window triples -> document evidence."""
        while True:
            batch = self._get(q_spans)
            if batch is _END:
                return
            items, predicted = batch
            if not self._put(q_assert, self._counted(stages.spans(self.models, items, predicted, self.driver.run_id))):
                return

    def _write(self, q_write: queue.Queue) -> None:
        gathered = WriteGatherer(self.driver)
        while True:
            batch = self._get(q_write)
            if batch is _END:
                break
            gathered.add(batch)
        # Also after Ctrl-C / SIGTERM or another stage's failure: these documents are complete.
        gathered.flush()
