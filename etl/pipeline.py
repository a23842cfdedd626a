"""`etl run`: extract (Parquet rows) -> normalize (windows, the models, merge) -> load (graph sink).

Six threads joined by bounded queues, so reading, tokenising, the models and graph writing
overlap, and memory stays bounded whatever the input size:

    reader      rows -> quarantine | ledger check (skip unchanged) -> windows, tokens  --q_docs-->
    conditions  the main condition of each note, its windows read as `X@window`         --q_rels-->
    relations   stage 1 over a batch of windows from many documents                    --q_spans-->
    spans       stage 2 for every predicted relation, merge overlapping windows        --q_assert-->
    assertions  stage 3: present / absent / possible for every subject and object      --q_write-->
    writer      finished documents gathered, then sink.write_documents(documents, evidence)
                (+ triples Parquet) once per ~graph.write_triples evidence rows, progress

The model stages are compute-bound; running them on separate threads lets one stage's Python
work (batching, decoding, merging, rules) proceed while another's TensorFlow graph runs.

Main condition (etl/conditions.py): the span model's main-condition question is asked in every
window of a note; the best answer is the note's main condition, and every window is then read by
both models as `<main condition>@<window>`, the way CMeIE texts carry their topic, so a finding
told sentences away from the diagnosis still has its subject in view. A span in the prefix is
the main condition at its place in the note.

Assertion (stage 3, `assertion.enabled`): every distinct subject and object place of a batch of
documents is judged in its note (one classifier call over all of them); a finding the span model
extracted together with its own leading cue (`无咳嗽`) is stored as the finding (`咳嗽`, offsets
moved past the cue) with its status (absent). Only evidence whose two ends are present makes a
typed relationship (the sinks' rule); the rest is kept as evidence.

Resumability: a document's ledger entry (content hash + model versions, on its Document node) is
written in the same sink write as its evidence, so a run killed at any point leaves each document
either fully written (the next run skips it) or not (the next run redoes it). Writes are gathered
(WriteGatherer): a killed run redoes at most the documents of one write, or `graph.write_seconds`
of work.
"""
from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

from etl.attribution import (conclusions, in_differential, known_subjects, passing_mention_elsewhere,
                             one_subject_per_object, past_event_of_another, reasoned_subjects, site_told_apart,
                             stated_purposes, told_before_found)
from etl.conditions import (CANDIDATE_THRESHOLD, MainCondition, Passage, passages, pick_main_condition,
                            stated_topic)
from etl.extract import InputSet, Quarantined, QuarantineWriter, SourceDocument, iter_rows, read_batches
from etl.findings import (exam_word, listed_not_differential, names_no_disease, regimens_over_bare_chemo, states_normal,
                          symptoms_after_treatment, test_kind)
from etl.history import past_illness_elsewhere, past_owns_its_sentence
from etl.lists import complete_lists, split_joined
from etl.names import trim_object, whole_subjects
from etl.records import PRESENT, Document, Evidence
from etl.report import Progress, RunReport
from etl.values import normalize_name
from etl.schema import Schema
from etl.windows import Window, make_windows

log = logging.getLogger(__name__)
_END = object()  # end-of-stream marker between stages


@dataclass
class WorkItem:
    source: SourceDocument
    windows: list[Window]
    passages: list[Passage]  # what the models read per window (with the main condition's prefix)
    token_ids: list[list[int]]  # relation-model input per passage
    condition: MainCondition | None = None


@dataclass
class PipelineOptions:
    read_batch_rows: int = 256
    max_text_chars: int = 200_000
    window_chars: int = 200
    window_overlap: int = 40
    model_batch_windows: int = 256  # windows per stage-1 call (across documents)
    limit: int | None = None
    full: bool = False  # ignore the ledger: re-extract every document
    queue_size: int = 4
    write_triples: int = 10_000  # evidence rows gathered into one sink write (graph.write_triples)
    write_seconds: float = 60.0  # longest a finished document waits for its write (graph.write_seconds)


def pipeline_options(settings, **extra) -> PipelineOptions:
    """The options a run takes from its settings (`extra`: limit, full)."""
    return PipelineOptions(read_batch_rows=settings.input.read_batch_rows,
                           max_text_chars=settings.input.max_text_chars,
                           window_chars=settings.windows.max_chars,
                           window_overlap=settings.windows.overlap_chars,
                           write_triples=settings.graph.write_triples,
                           write_seconds=settings.graph.write_seconds, **extra)


class StageTimer:
    """Seconds spent per stage (thread-safe: stages run on different threads)."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] += seconds


def merge_triples(doc_id: str, windows: Sequence[Window | Passage], window_triples: Sequence[Sequence],
                  versions: dict[str, str], run_id: str, schema: Schema) -> tuple[list[Evidence], int, int, int]:
    """Passage-level span triples -> document-level evidence, one per place (best score wins) and
    one predicate per pair of places (`one_predicate_per_pair`), and only for (subject type,
    predicate, object type) the schema allows, names that are not empty once normalised (a span
    of invisible characters), objects that are findings, not normal states (etl/findings.py), and
    for a past illness only objects of its own sentence (etl/history.py); in a note (passages read
    after its main condition), objects cut as the guideline names them (etl/names.py), a site only
    where its sentence names the disease and no symptom of a differential diagnosis
    (etl/attribution.py); the note as a whole is then read by `read_note`.
    A window is read as a passage without a prefix. Returns (evidence, dropped by the schema,
    dropped as normal states, dropped as a past illness's, dropped as told apart from their
    disease: a site or a differential diagnosis's symptom)."""
    found: list[Evidence] = []
    dropped = normal = past = apart = 0
    for passage, triples in zip(windows, window_triples):
        passage = passage if isinstance(passage, Passage) else Passage(passage)
        window = passage.window
        main = passage.condition.name if passage.condition is not None else None  # stated somewhere: not in passing
        for t in triples:
            if passage.read_as_note:  # 患者咳嗽 -> 咳嗽, FOLFIRI化疗 -> FOLFIRI: etl/names.py
                start, end = trim_object(passage.text, t.object_start, t.object_end, t.predicate)
                if (start, end) != (t.object_start, t.object_end):
                    t = dataclasses.replace(t, object=passage.text[start:end], object_start=start, object_end=end)
                kind = test_kind(t.predicate, t.object)  # 腹平片 is 影像学检查: etl/findings.py
                if kind != t.predicate:
                    t = dataclasses.replace(t, predicate=kind)
            subject_place = passage.place(t.subject_start, t.subject_end, t.subject)
            object_place = passage.place(t.object_start, t.object_end)
            if not schema.allows(t.subject_type, t.predicate, t.object_type) or \
                    not normalize_name(t.subject) or not normalize_name(t.object) or \
                    subject_place is None or object_place is None or subject_place == object_place:
                dropped += 1
                continue
            if states_normal(passage.text, t.predicate, t.object, t.object_end, t.object_type) or \
                    (passage.read_as_note and exam_word(t.predicate, t.object)) or \
                    (passage.of_a_note and listed_not_differential(passage.text, t.predicate, t.object_end)):
                normal += 1  # a normal state (律齐, 气管居中) or an exam word (膝腱反射) is no finding: etl/findings.py
                continue
            if past_illness_elsewhere(passage.text, (t.subject_start, t.subject_end), (t.object_start, t.object_end)):
                past += 1  # 既往糖尿病7年 does not own the admission's findings: etl/history.py
                continue
            if passage.read_as_note and (site_told_apart(passage.text, t.subject, t.predicate, t.object_start,
                                                      t.object_end, len(passage.prefix))
                                      or in_differential(passage.text, t.predicate, t.object_start, t.object_end)
                                      or (t.subject != main and passing_mention_elsewhere(
                                          passage.text, (t.subject_start, t.subject_end), (t.object_start, t.object_end)))):
                apart += 1  # 阑尾炎 -发病部位-> the exam's 阴茎, a differential diagnosis's 咳嗽, the CT of the exam's
                continue  # 皮肤挫伤 or the workup of an ECG's 窦性心动过速: etl/attribution.py
            evidence = Evidence(
                doc_id=doc_id, subject=t.subject, subject_type=t.subject_type, predicate=t.predicate,
                object=t.object, object_type=t.object_type, score=round(float(t.score), 6),
                subject_start=subject_place[0], subject_end=subject_place[1],
                object_start=object_place[0], object_end=object_place[1],
                sentence=window.text, sentence_start=window.start, sentence_end=window.end,
                relation_model=versions.get("relation", ""), span_model=versions.get("spans", ""),
                run_id=run_id)
            found.append(evidence)
    return one_predicate_per_pair(best_per_place(found)), dropped, normal, past, apart


def read_note(text: str, evidence: list[Evidence], knowledge=None, whole: bool = True
              ) -> tuple[list[Evidence], int, int]:
    """A note's merged evidence read as a whole: subjects given their whole names (etl/names.py),
    the diagnosis their reasoning concludes (etl/attribution.py) and the past illness their sentence
    names (etl/history.py), one subject per object place (etl/attribution.py),
    symptoms told after a treatment as such (etl/findings.py), the other items of a found symptom's
    list and two symptoms written as one split (etl/lists.py), then each finding given to the note's
    disease the span model's knowledge (its training triples) gives it to, and each treatment to the disease its stated purpose names
    (`…，治疗前列腺增生`: etl/attribution.py), and a bare 化疗 left out beside its regimen
    (etl/findings.py). A subject that names no disease
    (`瘢痕`, `破伤风` of `破伤风抗毒素皮试`: etl/findings.py) is left out first, read in the note (a
    window may end right after it). Returns (evidence, items added from lists, evidence left out
    for a subject that names no disease). A section with no main condition (`whole` false: a
    physical exam, a treatment course) is read for its subjects only: the other steps weigh its
    findings against a diagnosis it does not name."""
    named = [ev for ev in evidence
             if ev.subject_start is None or not names_no_disease(text, ev.subject_start, ev.subject_end)]
    not_diseases = len(evidence) - len(named)
    named = best_per_place(split_joined(named))  # 头痛头晕 -> 头痛, 头晕: etl/lists.py
    if not whole:
        return named, 0, not_diseases
    reasoned = conclusions(text)  # once for both steps that read the note's reasoning
    evidence = past_owns_its_sentence(text, reasoned_subjects(text, whole_subjects(text, named), reasoned))
    evidence = one_subject_per_object(best_per_place(evidence))  # renamed subjects may share a place
    evidence = symptoms_after_treatment(text, evidence)
    completed = complete_lists(text, evidence)
    known = known_subjects(text, completed, knowledge, reasoned)
    return (regimens_over_bare_chemo(stated_purposes(text, known, reasoned)), len(completed) - len(evidence),
            not_diseases)


def one_predicate_per_pair(evidence: list[Evidence]) -> list[Evidence]:
    """One predicate for a (subject place, object place) pair: the best-scoring (the first of
    equals). Two predicates for one pair are rare in the annotations (43 of 8,856 CMeIE pairs, 2 of
    3,926 EMR-RE pairs) and, in the models' output, mostly a confusion of neighbours (CEA as
    实验室检查 and 影像学检查): on EMR-RE dev keeping one raised strict precision 0.380 -> 0.407
    for a recall of 0.337 -> 0.330 (MODELS.md)."""
    best: dict[tuple, Evidence] = {}
    for ev in evidence:
        key = (ev.subject_start, ev.subject_end, ev.object_start, ev.object_end)
        if key not in best or ev.score > best[key].score:
            best[key] = ev
    kept = set(map(id, best.values()))
    return [ev for ev in evidence if id(ev) in kept]


def best_per_place(evidence: Iterable[Evidence]) -> list[Evidence]:
    """One evidence per (predicate, subject place, object place): the best score wins (the first of
    equals), in document order. Windows overlap, and trimming a leading cue (无咳嗽 -> 咳嗽) can move
    one span onto another, so both merges go through here."""
    best: dict[tuple, Evidence] = {}
    for ev in evidence:
        key = (ev.predicate, ev.subject_start, ev.subject_end, ev.object_start, ev.object_end)
        if key not in best or ev.score > best[key].score:
            best[key] = ev
    return sorted(best.values(), key=lambda e: (e.subject_start, e.object_start, e.predicate))


class Pipeline:
    """Runs one `etl run` over an input set with loaded models and an open sink."""

    def __init__(self, schema: Schema, relations, spans, sink, report: RunReport,
                 options: PipelineOptions, quarantine: QuarantineWriter, progress: Progress | None = None,
                 assertions=None):
        """`assertions`: an AssertionClassifier, or None to take every finding as present."""
        self.schema, self.relations, self.spans, self.sink = schema, relations, spans, sink
        self.assertions = assertions
        self.report, self.options, self.quarantine, self.progress = report, options, quarantine, progress
        # Ledger reads (reader thread) and writes (writer thread) share one store connection.
        self._sink_lock = threading.Lock()
        self.versions = {"relation": relations.version, "spans": spans.version}
        if assertions is not None:  # a new assertion model re-judges every document (ledger key)
            self.versions["assertion"] = assertions.version
        self.timer = StageTimer()
        self._stop = threading.Event()
        self._errors: list[BaseException] = []

    # ----------------------------------------------------------------- threads
    def run(self, inputs: InputSet) -> RunReport:
        started = time.monotonic()
        q_docs: queue.Queue = queue.Queue(maxsize=self.options.queue_size)
        q_rels: queue.Queue = queue.Queue(maxsize=self.options.queue_size)
        q_spans: queue.Queue = queue.Queue(maxsize=self.options.queue_size)
        q_assert: queue.Queue = queue.Queue(maxsize=self.options.queue_size)
        q_write: queue.Queue = queue.Queue(maxsize=self.options.queue_size)
        threads = [threading.Thread(target=self._guard, args=args, name=name) for name, args in (
            ("etl-reader", (self._read, inputs, q_docs)),
            ("etl-conditions", (self._conditions_stage, q_docs, q_rels)),
            ("etl-relations", (self._relations_stage, q_rels, q_spans)),
            ("etl-assertions", (self._assertions_stage, q_assert, q_write)),
            ("etl-writer", (self._write, q_write)))]
        for thread in threads:
            thread.start()
        try:
            self._guard(self._spans_stage, q_spans, q_assert)
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
        self.report.stage_seconds = dict(self.timer.seconds)
        self.report.wall_seconds = time.monotonic() - started
        if self._errors:
            raise self._errors[0]
        return self.report

    def _guard(self, target: Callable, *args) -> None:
        try:
            target(*args)
        except BaseException as error:  # noqa: BLE001  (re-raised on the main thread)
            self._errors.append(error)
            self._stop.set()

    def _put(self, q: queue.Queue, item, force: bool = False) -> bool:
        """Put unless the pipeline is stopping (a failed stage must not leave others blocked)."""
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

    # ----------------------------------------------------------------- stages
    def _read(self, inputs: InputSet, q_docs: queue.Queue) -> None:
        try:
            for todo in self.todo_batches(inputs):
                if not self._put(q_docs, self.prepare(todo)):
                    return
        finally:
            self._put(q_docs, _END, force=True)

    def todo_batches(self, inputs: InputSet, reader=read_batches) -> Iterator[list[SourceDocument]]:
        """Input rows -> quarantined (bad rows) | skipped (unchanged, the ledger) | batches of
        documents to extract. Both engines check rows through here, on the driver; `reader` reads
        the files (etl.extract.iter_rows: pyarrow here, ray.data.read_parquet on Ray)."""
        o = self.options
        pending: list[SourceDocument] = []
        tick = time.monotonic()
        for row in iter_rows(inputs, o.max_text_chars, o.read_batch_rows, o.limit, reader):
            if self._stop.is_set():
                return
            self.report.rows_read += 1
            if isinstance(row, Quarantined):
                self.quarantine.write(row)
                self.report.documents_quarantined += 1
                self.advance(1)
                continue
            pending.append(row)
            if len(pending) >= o.read_batch_rows:
                self.timer.add("read", time.monotonic() - tick)
                todo = self.changed(pending)
                if todo:
                    yield todo
                pending = []
                tick = time.monotonic()
        self.timer.add("read", time.monotonic() - tick)
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
        self.timer.add("ledger", time.monotonic() - tick)
        return todo

    def prepare(self, documents: list[SourceDocument]) -> list[WorkItem]:
        """Windows of each document, tokenised for the main-condition question (or, with a span
        model without it, the plain passages and their relation-model tokens)."""
        tick = time.monotonic()
        items = []
        conditions = self.spans.main_condition_query is not None
        for doc in documents:
            windows = make_windows(doc.text, self.options.window_chars, self.options.window_overlap)
            texts = [w.text for w in windows]
            # Tokenise here, on the reader thread: it overlaps the model thread's TensorFlow work.
            self.spans.prepare(texts)
            items.append(WorkItem(doc, windows, passages(windows, None),
                                  [] if conditions else self.relations.encode(texts)))
        self.timer.add("windows_tokens", time.monotonic() - tick)
        return items

    def extract(self, documents: list[SourceDocument]) -> list[tuple[Document, list[Evidence]]]:
        """Every model stage over `documents`, one after the other on this thread: what one Ray
        actor does with a batch (etl/ray_engine.py). Counts go to this pipeline's report."""
        items = self.prepare(documents)
        if not items:
            return []
        items = self.conditions_batch(items)
        return self.judge(self.spans_batch(items, self.relations_batch(items)))

    def _conditions_stage(self, q_docs: queue.Queue, q_rels: queue.Queue) -> None:
        """The main condition of each note of a batch (one span-model call over all their windows)."""
        try:
            while True:
                items = self._get(q_docs)
                if items is _END:
                    return
                if not self._put(q_rels, self.conditions_batch(items)):
                    return
        finally:
            self._put(q_rels, _END, force=True)

    def conditions_batch(self, items: list[WorkItem]) -> list[WorkItem]:
        """Each item's main condition (etl/conditions.py) and the passages the models then read
        (`X@window`), tokenised for both models. A no-op for a span model without the question."""
        if self.spans.main_condition_query is None:
            return items
        tick = time.monotonic()
        topics = [stated_topic(item.source.text) for item in items]
        asked = [item for item, topic in zip(items, topics) if topic is None]
        answers = iter(self.spans.main_conditions([w.text for item in asked for w in item.windows],
                                                  CANDIDATE_THRESHOLD))
        self.timer.add("conditions", time.monotonic() - tick)
        tick = time.monotonic()
        for item, topic in zip(items, topics):
            if topic is None:
                found = [next(answers) for _ in item.windows]
                item.condition = pick_main_condition(item.source.text, item.windows, found)
            else:
                item.condition = topic
            item.passages = passages(item.windows, item.condition)
            texts = [p.text for p in item.passages]
            self.spans.prepare(texts)
            item.token_ids = self.relations.encode(texts)
        self.report.main_conditions += sum(item.condition is not None for item in items)
        self.timer.add("passages_tokens", time.monotonic() - tick)
        return items

    def _relations_stage(self, q_rels: queue.Queue, q_spans: queue.Queue) -> None:
        """Stage 1 over batches of windows gathered from as many documents as are waiting."""
        try:
            batch: list[WorkItem] = []
            while True:
                items = self._get(q_rels)
                if items is _END:
                    break
                batch.extend(items)
                if sum(len(i.windows) for i in batch) >= self.options.model_batch_windows or q_rels.empty():
                    self._relations_batch(batch, q_spans)
                    batch = []
            if batch and not self._stop.is_set():
                self._relations_batch(batch, q_spans)
        finally:
            self._put(q_spans, _END, force=True)

    def _relations_batch(self, items: list[WorkItem], q_spans: queue.Queue) -> None:
        self._put(q_spans, (items, self.relations_batch(items)))

    def relations_batch(self, items: list[WorkItem]) -> list:
        """Stage 1: the relations predicted in every window of `items`."""
        token_ids = [ids for item in items for ids in item.token_ids]
        notes = [passage.of_a_note for item in items for passage in item.passages]
        tick = time.monotonic()
        predicted = self.relations.predict_encoded(token_ids, notes) if token_ids else []
        self.timer.add("relations", time.monotonic() - tick)
        return predicted

    def _spans_stage(self, q_spans: queue.Queue, q_assert: queue.Queue) -> None:
        """Stage 2 for every predicted relation, then window triples -> document evidence."""
        while True:
            batch = self._get(q_spans)
            if batch is _END:
                return
            if not self._put(q_assert, self.spans_batch(*batch)):
                return

    def spans_batch(self, items: list[WorkItem], predicted: list) -> list[tuple[Document, list[Evidence], str]]:
        """Stage 2 over the windows of `items` (their stage-1 relations in `predicted`), merged
        into document evidence: (document, evidence, text) per item."""
        texts = [passage.text for item in items for passage in item.passages]
        tick = time.monotonic()
        notes = [passage.of_a_note for item in items for passage in item.passages]
        asked = [i for i, relations in enumerate(predicted) if relations]
        asks = [(texts[i], predicted[i]) for i in asked]
        answers = iter(self.spans.extract_batch(asks, [notes[i] for i in asked])) if asks else iter(())
        per_window = [next(answers) if relations else [] for relations in predicted]
        floor = self.relations.note_min_score  # a note's triple needs this score (relation x span pointers)
        if floor:
            per_window = [[t for t in triples if t.score >= floor] if note else triples
                          for triples, note in zip(per_window, notes)]
        self.timer.add("spans", time.monotonic() - tick)
        self.report.windows += len(texts)
        self.report.span_queries += sum(len(r) for r in predicted)
        out, position = [], 0
        for item in items:
            window_triples = per_window[position:position + len(item.windows)]
            position += len(item.windows)
            evidence, dropped, normal, past, apart = merge_triples(
                item.source.doc_id, item.passages, window_triples, self.versions, self.report.run_id, self.schema)
            self.report.triples_dropped_by_schema += dropped
            self.report.triples_dropped_as_normal += normal
            self.report.triples_dropped_as_past_history += past
            self.report.triples_dropped_as_site_apart += apart
            if item.condition is None or not item.condition.stated:  # a note (not a CMeIE-style text)
                evidence, listed, not_diseases = read_note(item.source.text, evidence, self.spans.knowledge,
                                                           whole=item.condition is not None)
                kept = [ev for ev in evidence if not told_before_found(item.source.text, ev)]  # etl/attribution.py
                self.report.triples_dropped_as_site_apart += len(evidence) - len(kept)
                evidence = kept
                self.report.triples_from_lists += listed
                self.report.triples_dropped_as_no_disease += not_diseases
            document = Document(item.source.doc_id, item.source.source, item.source.content_hash,
                                item.source.metadata, self.versions)
            out.append((document, evidence, item.source.text))
        return out

    def _assertions_stage(self, q_assert: queue.Queue, q_write: queue.Queue) -> None:
        """Stage 3: the assertion of every subject and object, for a batch of documents at once."""
        try:
            while True:
                batch = self._get(q_assert)
                if batch is _END:
                    return
                if not self._put(q_write, self.judge(batch)):
                    return
        finally:
            self._put(q_write, _END, force=True)

    def judge(self, batch: list[tuple[Document, list[Evidence], str]]) -> list[tuple[Document, list[Evidence]]]:
        """Stage 3 (or every finding present when the assertion model is off)."""
        tick = time.monotonic()
        judged = self._assert(batch) if self.assertions is not None else [(d, e) for d, e, _ in batch]
        self.timer.add("assertions", time.monotonic() - tick)
        return judged

    def _assert(self, batch: list[tuple[Document, list[Evidence], str]]) -> list[tuple[Document, list[Evidence]]]:
        from etl.models.assertion.data import Mention

        places: dict[tuple[int, int, int], int] = {}  # (document, start, end) -> mention index
        for d, (_, evidence, _) in enumerate(batch):
            for ev in evidence:
                for place in ((d, ev.subject_start, ev.subject_end), (d, ev.object_start, ev.object_end)):
                    places.setdefault(place, len(places))
        mentions = [Mention(batch[d][2], start, end) for d, start, end in places]
        judged = self.assertions.assess(mentions) if mentions else []
        trims = [self.assertions.rules.leading_cue(m.text, m.start, m.end) if a.status != PRESENT else 0
                 for m, a in zip(mentions, judged)]
        self.report.assertion_mentions += len(mentions)
        out = []
        for d, (document, evidence, text) in enumerate(batch):
            rows = []
            for ev in evidence:
                s = places[(d, ev.subject_start, ev.subject_end)]
                o = places[(d, ev.object_start, ev.object_end)]
                s_start, o_start = ev.subject_start + trims[s], ev.object_start + trims[o]
                rows.append(dataclasses.replace(
                    ev, subject=text[s_start:ev.subject_end], subject_start=s_start,
                    object=text[o_start:ev.object_end], object_start=o_start,
                    subject_assertion=judged[s].status, object_assertion=judged[o].status,
                    subject_experiencer=judged[s].experiencer, object_experiencer=judged[o].experiencer,
                    subject_historical=judged[s].historical, object_historical=judged[o].historical,
                    assertion_model=self.assertions.version))
            kept = [row for row in rows if not past_event_of_another(text, row)]  # etl/attribution.py
            self.report.triples_dropped_as_past_history += len(rows) - len(kept)
            out.append((document, best_per_place(kept)))
        return out

    def _write(self, q_write: queue.Queue) -> None:
        gathered = WriteGatherer(self)
        while True:
            batch = self._get(q_write)
            if batch is _END:
                break
            gathered.add(batch)
        # Also after Ctrl-C / SIGTERM or another stage's failure: these documents are complete.
        gathered.flush()

    def write(self, results: list[tuple[Document, list[Evidence]]]) -> None:
        """One sink write of `results` (documents with their evidence; the ledger goes last), counted."""
        documents = [d for d, _ in results]
        evidence = [e for _, rows in results for e in rows]
        tick = time.monotonic()
        with self._sink_lock:
            self.sink.write_documents(documents, evidence, run_id=self.report.run_id)
        self.timer.add("write", time.monotonic() - tick)
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


class WriteGatherer:
    """Finished documents gathered into few large sink writes. A write costs far more per write than
    per row (statements, round trips, plans: BENCHMARKS.md, the batch sweep: 500-triple writes are
    2-8x slower per triple than 20,000-triple ones), and a read batch of 256 notes gives only a few
    hundred triples. A write happens once `write_triples` evidence rows are waiting, once the oldest
    waiting document has waited `write_seconds` (checked as results arrive: on a slow run the graph
    still fills and a killed run redoes little), and at the end (`flush`). Each write carries its
    documents' ledger entries, so resumability is unchanged. Both engines write through here."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.results: list[tuple[Document, list[Evidence]]] = []
        self.triples = 0
        self.since: float | None = None  # when the oldest waiting document arrived

    def add(self, results: list[tuple[Document, list[Evidence]]]) -> None:
        if not results:
            return
        triples = sum(len(rows) for _, rows in results)
        self.results.extend(results)
        self.triples += triples
        self.since = self.since if self.since is not None else time.monotonic()
        self.pipeline.advance(len(results), triples)
        options = self.pipeline.options
        if self.triples >= options.write_triples or time.monotonic() - self.since >= options.write_seconds:
            self.flush()

    def flush(self) -> None:
        if self.results:
            results, self.results, self.triples, self.since = self.results, [], 0, None
            self.pipeline.write(results)
