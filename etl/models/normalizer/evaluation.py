"""CBLUE's CHIP-CDN metric and the lexical baseline it is compared with.

The metric: micro precision, recall and F1 over (text, standard name) pairs; a record's gold names
are its `normalized_result` split on `##` (duplicates once). The lexical baseline is the retriever
alone: each text's, and each of its parts', best BM25 name, kept when its score per query token is
at least a threshold (chosen on other records than those it is measured on).
"""
from __future__ import annotations

from typing import Iterable, Sequence

from etl.data.cdn import CdnRecord
from etl.evaluate import Counts
from etl.models.normalizer.lexical import LexicalIndex, grams, parts


def cdn_counts(records: Sequence[CdnRecord], predicted: Iterable[Iterable[str]]) -> Counts:
    counts = Counts()
    for record, names in zip(records, predicted):
        gold, names = set(record.names), set(names)
        counts.correct += len(gold & names)
        counts.predicted += len(names)
        counts.gold += len(gold)
    return counts


def lexical_predictions(records: Sequence[CdnRecord], index: LexicalIndex, threshold: float) -> list[set[str]]:
    queries, owner = [], []
    for i, record in enumerate(records):
        for query in [record.text] + parts(record.text):
            queries.append(query)
            owner.append(i)
    indices, scores = index.search(queries, 1)
    predicted: list[set[str]] = [set() for _ in records]
    for i, query, row, score in zip(owner, queries, indices, scores):
        if score[0] > 0 and float(score[0]) / max(len(grams(query)), 1) >= threshold:
            predicted[i].add(index.strings[int(row[0])])
    return predicted


def lexical_baseline(choose_on: Sequence[CdnRecord], report_on: Sequence[CdnRecord], index: LexicalIndex,
                     thresholds: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)) -> dict:
    """The retriever alone on `report_on`, at the threshold (BM25 score per query token) with the
    best F1 on `choose_on`."""
    best = max(thresholds, key=lambda t: cdn_counts(choose_on, lexical_predictions(choose_on, index, t)).f1)
    return dict(cdn_counts(report_on, lexical_predictions(report_on, index, best)).as_dict(), threshold=best)
