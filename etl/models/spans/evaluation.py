"""Evaluation of the span extractor.

- Span P/R/F1 (the per-epoch figure): over MRC questions with gold relations (and gold subjects in
  turn 2), a predicted span counts when its start and its end both match a gold answer span of
  the same question (character offsets; every occurrence of an answer string is a gold span).
- End to end: the multi-turn extraction (`SpanExtractor.extract_batch`) on whole texts, given the
  relations of each text either from the gold (oracle) or from the relation classifier, scored as
  strict (subject, predicate, object) micro-F1 by `etl.evaluate`.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from etl.data.cmeie import Sample, Triple
from etl.data.examples import MrcExample
from etl.evaluate import Counts, Report, evaluate


def span_scores(extractor, examples: Sequence[MrcExample]) -> dict:
    """{'micro': {...}, 'turn1': {...}, 'turn2': {...}[, 'main': {...}]} precision/recall/F1 dicts
    (Counts.as_dict); `main` scores the notes' main-condition question."""
    predictions = extractor.answer([(e.query, e.text, e.subject) for e in examples])
    counts = {"micro": Counts(), "turn1": Counts(), "turn2": Counts(), "main": Counts(), "entity": Counts()}
    for example, spans in zip(examples, predictions):
        gold = set(example.spans)
        predicted = {(s.start, s.end) for s in spans}
        turn = {1: "turn1", 2: "turn2"}.get(example.turn, "main" if example.predicate == "main_condition" else "entity")
        for key in ("micro", turn):
            counts[key].gold += len(gold)
            counts[key].predicted += len(predicted)
            counts[key].correct += len(gold & predicted)
    return {key: c.as_dict() for key, c in counts.items() if c.gold or c.predicted}


def oracle_relations(samples: Sequence[Sample]) -> list[dict[str, float]]:
    """The gold predicates of every text, as a {predicate: 1.0} dict (what a perfect classifier says)."""
    return [{t.predicate: 1.0 for t in sample.triples} for sample in samples]


def extract_samples(extractor, texts: Sequence[str], relations: Sequence[Mapping[str, float]],
                    batch_texts: int = 256) -> list[Sample]:
    """CMeIE-format predictions: one Sample per text with the extracted triples."""
    samples = []
    for start in range(0, len(texts), batch_texts):  # bounded batches keep memory flat
        chunk = list(zip(texts[start:start + batch_texts], relations[start:start + batch_texts]))
        for (text, _), triples in zip(chunk, extractor.extract_batch(chunk)):
            samples.append(Sample(text, tuple(
                Triple(t.subject, t.subject_type, t.predicate, t.object, t.object_type,
                       subject_spans=((t.subject_start, t.subject_end),),
                       object_spans=((t.object_start, t.object_end),))
                for t in triples)))
    return samples


def end_to_end(extractor, gold: Sequence[Sample], relations: Sequence[Mapping[str, float]] | None = None
               ) -> tuple[Report, list[Sample]]:
    """Strict triple micro-F1 of the extractor over `gold` texts; oracle relations when None."""
    relations = oracle_relations(gold) if relations is None else relations
    predicted = extract_samples(extractor, [s.text for s in gold], relations)
    return evaluate(gold, predicted), predicted


def tune_threshold(extractor, dev: Sequence[Sample], grid: Sequence[float]
                   ) -> tuple[float, list[dict], Report]:
    """The decoding threshold (start = end) of `grid` with the best end-to-end triple F1 on `dev`
    with gold relations (what the pipeline writes: spans are judged by the triples they make).
    Leaves the extractor at the chosen threshold; returns it, the figures of every candidate and
    the chosen threshold's report (so callers need not extract the dev split again)."""
    rows, reports = [], {}
    for threshold in map(float, grid):
        extractor.start_threshold = extractor.end_threshold = threshold
        reports[threshold], _ = end_to_end(extractor, dev)
        rows.append({"threshold": threshold, **reports[threshold].micro.as_dict()})
    best = max(rows, key=lambda row: row["f1"])["threshold"]
    extractor.start_threshold = extractor.end_threshold = best
    return best, rows, reports[best]


def predicted_relations(relation_folder, texts: Sequence[str]) -> list[dict[str, float]]:
    """The relation classifier's predicates (above its tuned thresholds) for every text."""
    from etl.models.registry import model_class

    return model_class("relation").load(relation_folder).predict(list(texts))
