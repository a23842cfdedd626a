"""Converters from CMeIE samples to the two training formats the models use.

- Relation classification: text -> set of predicate ids (ids index `Schema.predicate_names`).
- MRC span extraction, multi-turn (pairing is guaranteed by construction):
  turn 1 asks "which subjects hold predicate p?" and marks every occurrence of every subject of p;
  turn 2 asks "which objects of p does subject s have?" and marks every occurrence of the objects
  paired with s. Two diseases in one text, each with its own symptoms, thus give two turn-2
  questions with disjoint answers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from etl.data.cmeie import Sample, Span
from etl.schema import Schema


@dataclass(frozen=True)
class RelationExample:
    text: str
    labels: frozenset[int]


@dataclass(frozen=True)
class MrcExample:
    query: str
    text: str
    spans: tuple[Span, ...]  # character offsets into text, end exclusive; may be empty
    predicate: str
    turn: int  # 1: subjects of predicate, 2: objects of (predicate, subject)
    subject: str = ""


def relation_examples(samples: Iterable[Sample], schema: Schema) -> list[RelationExample]:
    index = {name: i for i, name in enumerate(schema.predicate_names)}
    examples = []
    for sample in samples:
        labels = frozenset(index[t.predicate] for t in sample.triples if t.predicate in index)
        examples.append(RelationExample(sample.text, labels))
    return examples


def mrc_examples(samples: Iterable[Sample], schema: Schema) -> list[MrcExample]:
    examples = []
    for sample in samples:
        by_predicate: dict[str, dict[str, set[Span]]] = {}
        subject_spans: dict[str, set[Span]] = {}
        for t in sample.triples:
            if t.predicate not in schema.predicates or not t.subject_spans or not t.object_spans:
                continue
            by_predicate.setdefault(t.predicate, {}).setdefault(t.subject, set()).update(t.object_spans)
            subject_spans.setdefault(t.predicate, set()).update(t.subject_spans)
        for predicate, objects_by_subject in by_predicate.items():
            examples.append(MrcExample(schema.subject_query(predicate), sample.text,
                                       tuple(sorted(subject_spans[predicate])), predicate, 1))
            for subject, object_spans in objects_by_subject.items():
                examples.append(MrcExample(schema.object_query(predicate, subject), sample.text,
                                           tuple(sorted(object_spans)), predicate, 2, subject))
    return examples
