"""Strict triple evaluation as the CMeIE benchmark (CBLUE / CHIP 2020) defines it.

- Samples are matched by their `text`; a text missing from the predictions predicts nothing, and
  predicted texts absent from the gold are ignored (and counted, so a mismatch is visible).
- A triple is (subject, predicate, object); subject and object are lower-cased and a surrounding
  《...》 is removed, as the official script does. Entity types are not compared (the official
  script compares subject, predicate and object only).
- Duplicate triples within one text count once. Gold texts that appear twice are merged.
- Micro precision = correct / predicted, recall = correct / gold, F1 their harmonic mean.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from etl.data.cmeie import Sample

TripleKey = tuple[str, str, str]


@dataclass
class Counts:
    correct: int = 0
    predicted: int = 0
    gold: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "correct": self.correct,
                "predicted": self.predicted, "gold": self.gold}


@dataclass
class Report:
    micro: Counts = field(default_factory=Counts)
    per_predicate: dict[str, Counts] = field(default_factory=dict)
    gold_texts: int = 0
    predicted_texts: int = 0
    unmatched_predicted_texts: int = 0  # predicted texts that are not in the gold file

    def as_dict(self) -> dict:
        macro = [c.f1 for c in self.per_predicate.values() if c.gold]
        return {
            "micro": self.micro.as_dict(),
            "macro_f1": round(sum(macro) / len(macro), 4) if macro else 0.0,
            "per_predicate": {p: c.as_dict() for p, c in sorted(self.per_predicate.items())},
            "gold_texts": self.gold_texts,
            "predicted_texts": self.predicted_texts,
            "unmatched_predicted_texts": self.unmatched_predicted_texts,
        }


def normalise(name: str) -> str:
    name = name.lower()
    if name.startswith("《") and name.endswith("》"):
        name = name[1:-1]
    return name


def triple_set(sample: Sample) -> set[TripleKey]:
    return {(normalise(t.subject), t.predicate, normalise(t.object)) for t in sample.triples}


def _by_text(samples: Iterable[Sample]) -> dict[str, set[TripleKey]]:
    result: dict[str, set[TripleKey]] = {}
    for sample in samples:
        result.setdefault(sample.text, set()).update(triple_set(sample))
    return result


def evaluate(gold: Iterable[Sample], predicted: Iterable[Sample]) -> Report:
    gold_by_text, predicted_by_text = _by_text(gold), _by_text(predicted)
    report = Report(gold_texts=len(gold_by_text), predicted_texts=len(predicted_by_text))
    report.unmatched_predicted_texts = len(predicted_by_text.keys() - gold_by_text.keys())
    for text, gold_triples in gold_by_text.items():
        predicted_triples = predicted_by_text.get(text, set())
        for triples, attr in ((gold_triples, "gold"), (predicted_triples, "predicted"),
                              (gold_triples & predicted_triples, "correct")):
            setattr(report.micro, attr, getattr(report.micro, attr) + len(triples))
            for _, predicate, _ in triples:
                counts = report.per_predicate.setdefault(predicate, Counts())
                setattr(counts, attr, getattr(counts, attr) + 1)
    return report


def format_table(report: Report) -> str:
    """Readable per-predicate table, most frequent gold predicate first, micro line last."""
    rows = sorted(report.per_predicate.items(), key=lambda kv: (-kv[1].gold, kv[0]))
    width = max([len(p) * 2 for p, _ in rows] + [12])  # CJK characters are two columns wide

    def line(name: str, c: Counts) -> str:
        pad = width - sum(2 if ord(ch) > 0x2E7F else 1 for ch in name)
        return (f"{name}{' ' * pad}  {c.precision:9.4f} {c.recall:9.4f} {c.f1:9.4f}"
                f" {c.gold:6d} {c.predicted:6d} {c.correct:7d}")

    out = [f"{'predicate':<{width}}  {'precision':>9} {'recall':>9} {'f1':>9} {'gold':>6} {'pred':>6} {'correct':>7}"]
    out += [line(p, c) for p, c in rows]
    out.append("-" * len(out[0]))
    out.append(line("micro", report.micro))
    summary = report.as_dict()
    out.append(f"macro F1 over gold predicates: {summary['macro_f1']:.4f}; gold texts {report.gold_texts}, "
               f"predicted texts {report.predicted_texts}"
               + (f", {report.unmatched_predicted_texts} predicted texts not in gold (ignored)"
                  if report.unmatched_predicted_texts else ""))
    return "\n".join(out)
