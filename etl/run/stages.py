"""The model stages of a run, as functions: each takes a batch and returns what it made and its `Counts`.

    prepare      documents -> windows, tokenised for the main-condition question
    conditions   the main condition of each note; its windows read as `X@window` (etl/notes/conditions.py)
    relations    stage 1: the relations each window holds (the relation classifier)
    spans        stage 2: each relation's subjects and objects (the span extractor), merged into document
                 evidence and read by the note rules (etl/notes/reading.py)
    assertions   stage 3: present / absent / possible for every subject and object (the assertion model)

Both engines call these: the local one on threads joined by queues (etl/run/threads.py), the Ray one
on model actors (`extract`, etl/run/ray_engine.py); `etl evaluate notes` calls `extract` too. What a
stage counts goes back with its result, and the engine's driver adds it to the run report
(etl/run/driver.py), so a stage holds no report and no store.

Main condition (etl/notes/conditions.py): the span model's main-condition question is asked in every
window of a note; the best answer is the note's main condition, and every window is then read by
both models as `<main condition>@<window>`, the way CMeIE texts carry their topic, so a finding
told sentences away from the diagnosis still has its subject in view. A span in the prefix is
the main condition at its place in the note.

Assertion (`assertion.enabled`): every distinct subject and object place of a batch of documents is
judged in its note (one classifier call over all of them); a finding the span model extracted
together with its own leading cue (`无咳嗽`) is stored as the finding (`咳嗽`, offsets moved past the
cue) with its status (absent). Only evidence whose two ends are present makes a typed relationship
(the sinks' rule); the rest is kept as evidence.
"""
from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from dataclasses import dataclass, field

from etl.extract import SourceDocument
from etl.notes.attribution import past_event_of_another
from etl.notes.conditions import (CANDIDATE_THRESHOLD, MainCondition, Passage, passages, pick_main_condition,
                                  stated_topic)
from etl.notes.reading import best_per_place, merge_triples, read_note
from etl.records import PRESENT, Document, Evidence
from etl.run.options import RunOptions
from etl.schema import Schema
from etl.windows import Window, make_windows

# A document with its evidence and its text, as the spans stage hands it to the assertion stage.
Found = tuple[Document, list[Evidence], str]
# A document with its judged evidence, as the assertion stage hands it to the writer.
Judged = tuple[Document, list[Evidence]]


@dataclass
class Counts:
    """What the model stages add to a run report (RunReport's fields of the same names), and the
    seconds each stage spent. Added up by the engine's driver (`Driver.count`)."""
    windows: int = 0
    main_conditions: int = 0
    span_queries: int = 0
    triples_dropped_by_schema: int = 0
    triples_dropped_as_normal: int = 0
    triples_dropped_as_past_history: int = 0
    triples_dropped_as_site_apart: int = 0
    triples_from_lists: int = 0
    triples_dropped_as_no_disease: int = 0
    assertion_mentions: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def timed(self, stage: str, since: float) -> None:
        """Add the seconds from `since` (time.monotonic) to now to `stage`."""
        self.seconds[stage] += time.monotonic() - since

    def add(self, other: "Counts") -> "Counts":
        for name in COUNTED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for stage, seconds in other.seconds.items():
            self.seconds[stage] += seconds
        return self


COUNTED = tuple(f.name for f in dataclasses.fields(Counts) if f.name != "seconds")


@dataclass
class Models:
    """The loaded models a run's stages use (etl/run/models.py loads them) and the schema."""
    schema: Schema
    relations: object  # etl.models.relation.model.RelationClassifier
    spans: object  # etl.models.spans.model.SpanExtractor
    assertions: object | None = None  # etl.models.assertion.model.AssertionClassifier; None: all present

    @property
    def versions(self) -> dict[str, str]:
        """The model versions a document's ledger entry and evidence carry (a new assertion model
        re-judges every document too)."""
        versions = {"relation": self.relations.version, "spans": self.spans.version}
        if self.assertions is not None:
            versions["assertion"] = self.assertions.version
        return versions


@dataclass
class WorkItem:
    source: SourceDocument
    windows: list[Window]
    passages: list[Passage]  # what the models read per window (with the main condition's prefix)
    token_ids: list[list[int]]  # relation-model input per passage
    condition: MainCondition | None = None


def prepare(models: Models, options: RunOptions, documents: list[SourceDocument]) -> tuple[list[WorkItem], Counts]:
    """Windows of each document, tokenised for the main-condition question (or, with a span model
    without it, the plain passages and their relation-model tokens)."""
    counts, tick = Counts(), time.monotonic()
    items = []
    conditions = models.spans.main_condition_query is not None
    for doc in documents:
        windows = make_windows(doc.text, options.window_chars, options.window_overlap)
        texts = [w.text for w in windows]
        # Tokenise here, on the reader thread: it overlaps the model threads' TensorFlow work.
        models.spans.prepare(texts)
        items.append(WorkItem(doc, windows, passages(windows, None),
                              [] if conditions else models.relations.encode(texts)))
    counts.timed("windows_tokens", tick)
    return items, counts


def conditions(models: Models, items: list[WorkItem]) -> tuple[list[WorkItem], Counts]:
    """Each item's main condition (etl/notes/conditions.py: one span-model call over the windows of
    every note of the batch) and the passages the models then read (`X@window`), tokenised for both
    models. A no-op for a span model without the question."""
    counts = Counts()
    if models.spans.main_condition_query is None:
        return items, counts
    tick = time.monotonic()
    topics = [stated_topic(item.source.text) for item in items]
    asked = [item for item, topic in zip(items, topics) if topic is None]
    answers = iter(models.spans.main_conditions([w.text for item in asked for w in item.windows],
                                                CANDIDATE_THRESHOLD))
    counts.timed("conditions", tick)
    tick = time.monotonic()
    for item, topic in zip(items, topics):
        if topic is None:
            found = [next(answers) for _ in item.windows]
            item.condition = pick_main_condition(item.source.text, item.windows, found)
        else:
            item.condition = topic
        item.passages = passages(item.windows, item.condition)
        texts = [p.text for p in item.passages]
        models.spans.prepare(texts)
        item.token_ids = models.relations.encode(texts)
    counts.main_conditions = sum(item.condition is not None for item in items)
    counts.timed("passages_tokens", tick)
    return items, counts


def relations(models: Models, items: list[WorkItem]) -> tuple[list, Counts]:
    """Stage 1: the relations predicted in every passage of `items`."""
    counts = Counts()
    token_ids = [ids for item in items for ids in item.token_ids]
    notes = [passage.of_a_note for item in items for passage in item.passages]
    tick = time.monotonic()
    predicted = models.relations.predict_encoded(token_ids, notes) if token_ids else []
    counts.timed("relations", tick)
    return predicted, counts


def spans(models: Models, items: list[WorkItem], predicted: list, run_id: str) -> tuple[list[Found], Counts]:
    """Stage 2 over the passages of `items` (their stage-1 relations in `predicted`), merged into
    document evidence and, for a note (not a CMeIE-style text stating its topic), read as a whole
    (etl/notes/reading.py)."""
    counts = Counts()
    texts = [passage.text for item in items for passage in item.passages]
    tick = time.monotonic()
    notes = [passage.of_a_note for item in items for passage in item.passages]
    asked = [i for i, found in enumerate(predicted) if found]
    asks = [(texts[i], predicted[i]) for i in asked]
    answers = iter(models.spans.extract_batch(asks, [notes[i] for i in asked])) if asks else iter(())
    per_window = [next(answers) if found else [] for found in predicted]
    floor = models.relations.note_min_score  # a note's triple needs this score (relation x span pointers)
    if floor:
        per_window = [[t for t in triples if t.score >= floor] if note else triples
                      for triples, note in zip(per_window, notes)]
    counts.timed("spans", tick)
    counts.windows = len(texts)
    counts.span_queries = sum(len(found) for found in predicted)
    versions = models.versions
    out, position = [], 0
    for item in items:
        window_triples = per_window[position:position + len(item.windows)]
        position += len(item.windows)
        merged = merge_triples(item.source.doc_id, item.passages, window_triples, versions, run_id, models.schema)
        counts.triples_dropped_by_schema += merged.dropped_by_schema
        counts.triples_dropped_as_normal += merged.normal
        counts.triples_dropped_as_past_history += merged.past
        counts.triples_dropped_as_site_apart += merged.apart
        evidence = merged.evidence
        if item.condition is None or not item.condition.stated:  # a note (not a CMeIE-style text)
            reading = read_note(item.source.text, evidence, models.spans.knowledge, whole=item.condition is not None)
            evidence = reading.evidence
            counts.triples_dropped_as_site_apart += reading.told_before
            counts.triples_from_lists += reading.listed
            counts.triples_dropped_as_no_disease += reading.not_diseases
        document = Document(item.source.doc_id, item.source.source, item.source.content_hash,
                            item.source.metadata, versions)
        out.append((document, evidence, item.source.text))
    return out, counts


def assertions(models: Models, batch: list[Found]) -> tuple[list[Judged], Counts]:
    """Stage 3 (or every finding present when the assertion model is off)."""
    counts, tick = Counts(), time.monotonic()
    judged = _assert(models, batch, counts) if models.assertions is not None else [(d, e) for d, e, _ in batch]
    counts.timed("assertions", tick)
    return judged, counts


def _assert(models: Models, batch: list[Found], counts: Counts) -> list[Judged]:
    from etl.models.assertion.data import Mention

    places: dict[tuple[int, int, int], int] = {}  # (document, start, end) -> mention index
    for d, (_, evidence, _) in enumerate(batch):
        for ev in evidence:
            for place in ((d, ev.subject_start, ev.subject_end), (d, ev.object_start, ev.object_end)):
                places.setdefault(place, len(places))
    mentions = [Mention(batch[d][2], start, end) for d, start, end in places]
    judged = models.assertions.assess(mentions) if mentions else []
    trims = [models.assertions.rules.leading_cue(m.text, m.start, m.end) if a.status != PRESENT else 0
             for m, a in zip(mentions, judged)]
    counts.assertion_mentions += len(mentions)
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
                assertion_model=models.assertions.version))
        kept = [row for row in rows if not past_event_of_another(text, row)]  # etl/notes/attribution.py
        counts.triples_dropped_as_past_history += len(rows) - len(kept)
        out.append((document, best_per_place(kept)))
    return out


def extract(models: Models, options: RunOptions, documents: list[SourceDocument], run_id: str
            ) -> tuple[list[Judged], Counts]:
    """Every model stage over `documents`, one after the other on this thread: what one Ray actor
    does with a batch (etl/run/ray_engine.py) and what `etl evaluate notes` runs."""
    items, counts = prepare(models, options, documents)
    if not items:
        return [], counts
    items, found = conditions(models, items)
    predicted, stage1 = relations(models, items)
    batch, stage2 = spans(models, items, predicted, run_id)
    judged, stage3 = assertions(models, batch)
    for other in (found, stage1, stage2, stage3):
        counts.add(other)
    return judged, counts
