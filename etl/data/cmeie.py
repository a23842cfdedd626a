"""CMeIE JSONL: read, recover character offsets, write.

Offsets are Python slice offsets into `text`: `text[start:end] == span`, end exclusive.

CMeIE gives only strings, and a string can occur several times in its text (~40% of subject/object
strings in the shared data do). Rule: every occurrence is kept (`Triple.subject_spans` /
`object_spans`, in text order) because the span model is trained to point at all of them;
where one (subject, object) placement is needed, `Triple.nearest_pair()` picks the pair of
occurrences closest to each other (ties: the earliest). `read_stats()` counts the ambiguous cases.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from etl.data.files import read_jsonl

Span = tuple[int, int]


@dataclass(frozen=True)
class Triple:
    subject: str
    subject_type: str
    predicate: str
    object: str
    object_type: str
    combined: bool = False
    subject_spans: tuple[Span, ...] = ()
    object_spans: tuple[Span, ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subject, self.predicate, self.object)

    def nearest_pair(self) -> tuple[Span, Span] | None:
        """The (subject span, object span) closest together; None if either is missing."""
        best = None
        for s in self.subject_spans:
            for o in self.object_spans:
                gap = max(o[0] - s[1], s[0] - o[1], 0)
                rank = (gap, min(s[0], o[0]), s[0], o[0])
                if best is None or rank < best[0]:
                    best = (rank, (s, o))
        return best[1] if best else None


@dataclass(frozen=True)
class Sample:
    text: str
    triples: tuple[Triple, ...] = ()
    line: int = 0  # 1-based line in the source file (0 when built in code)


@dataclass
class ReadStats:
    samples: int = 0
    triples: int = 0
    spans_found: int = 0  # subject/object strings located in their text
    spans_missing: int = 0  # strings that do not occur (kept, with no spans)
    spans_ambiguous: int = 0  # strings that occur more than once
    missing_examples: list = field(default_factory=list)


def find_spans(text: str, needle: str) -> tuple[Span, ...]:
    """Every occurrence of `needle` in `text` (overlapping ones too), in text order."""
    if not needle:
        return ()
    spans, start = [], text.find(needle)
    while start != -1:
        spans.append((start, start + len(needle)))
        start = text.find(needle, start + 1)
    return tuple(spans)


def _value(raw, what: str):
    """CMeIE writes object and object_type as {"@value": ...}; plain strings are accepted too."""
    if isinstance(raw, dict):
        raw = raw.get("@value")
    if not isinstance(raw, str):
        raise KeyError(f"{what} must be a string or {{'@value': string}}")
    return raw


def parse_sample(row: dict, line: int = 0, stats: ReadStats | None = None) -> Sample:
    text = row["text"]
    if not isinstance(text, str):
        raise KeyError("text must be a string")
    triples = []
    for spo in row.get("spo_list") or []:
        subject = spo["subject"]
        if not isinstance(subject, str):
            raise KeyError("subject must be a string")
        obj = _value(spo["object"], "object")
        triple = Triple(
            subject=subject,
            subject_type=_value(spo.get("subject_type", ""), "subject_type"),
            predicate=spo["predicate"],
            object=obj,
            object_type=_value(spo.get("object_type", ""), "object_type"),
            combined=bool(spo.get("Combined", False)),
            subject_spans=find_spans(text, subject),
            object_spans=find_spans(text, obj),
        )
        triples.append(triple)
        if stats is not None:
            for string, spans in ((subject, triple.subject_spans), (obj, triple.object_spans)):
                if spans:
                    stats.spans_found += 1
                    stats.spans_ambiguous += len(spans) > 1
                else:
                    stats.spans_missing += 1
                    if len(stats.missing_examples) < 20:
                        stats.missing_examples.append((line, string))
    return Sample(text=text, triples=tuple(triples), line=line)


def read_cmeie(path: str | Path, stats: ReadStats | None = None) -> Iterator[Sample]:
    """Yield the samples of a CMeIE JSONL file (UTF-8, optional BOM, LF or CRLF)."""
    for sample in read_jsonl(path, lambda row, number: parse_sample(row, number, stats), "a CMeIE sample"):
        if stats is not None:
            stats.samples += 1
            stats.triples += len(sample.triples)
        yield sample


def read_stats(path: str | Path) -> ReadStats:
    stats = ReadStats()
    for _ in read_cmeie(path, stats):
        pass
    return stats


def to_row(sample: Sample) -> dict:
    """CMeIE JSON object for a sample (the format `etl evaluate` reads)."""
    return {
        "text": sample.text,
        "spo_list": [
            {
                "Combined": t.combined,
                "predicate": t.predicate,
                "subject": t.subject,
                "subject_type": t.subject_type,
                "object": {"@value": t.object},
                "object_type": {"@value": t.object_type},
            }
            for t in sample.triples
        ],
    }


def write_cmeie(path: str | Path, samples: Iterable[Sample]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps(to_row(sample), ensure_ascii=False) + "\n")
            count += 1
    return count
