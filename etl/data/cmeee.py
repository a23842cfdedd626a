"""CMeEE NER lines: `text|||start    end    type|||...`, `end` inclusive in the file.

Entities come out with Python slice offsets (end exclusive). Annotations that cannot be right
(end before start, or past the text) are not silently dropped: they are returned in `problems`
with the line and reason (the shared train file has two empty spans).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from etl.data.files import open_text
from etl.errors import DataError

# CMeEE type code -> (English name, Chinese noun for MRC entity queries)
CMEEE_TYPES = {
    "dis": ("disease", "疾病"),
    "sym": ("symptom", "症状"),
    "dru": ("drug", "药物"),
    "equ": ("equipment", "医疗设备"),
    "pro": ("procedure", "医疗程序"),
    "bod": ("body part", "身体部位"),
    "ite": ("lab item", "医学检验项目"),
    "mic": ("microorganism", "微生物"),
    "dep": ("department", "科室"),
}


@dataclass(frozen=True)
class Entity:
    start: int
    end: int  # exclusive
    type: str
    text: str


@dataclass(frozen=True)
class NerSample:
    text: str
    entities: tuple[Entity, ...]
    line: int = 0


@dataclass
class NerStats:
    samples: int = 0
    entities: int = 0
    problems: list = field(default_factory=list)  # (line, annotation, reason)


def read_cmeee(path: str | Path, stats: NerStats | None = None) -> Iterator[NerSample]:
    path = Path(path)
    stats = stats if stats is not None else NerStats()
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            text, *annotations = line.split("|||")
            entities = []
            for annotation in annotations:
                if not annotation.strip():
                    continue
                fields = annotation.split()
                if len(fields) != 3 or not fields[0].isdigit() or not fields[1].isdigit():
                    raise DataError(f"{path}:{number}: bad annotation {annotation!r} "
                                    "(expected 'start    end    type')")
                start, end, kind = int(fields[0]), int(fields[1]) + 1, fields[2]
                if kind not in CMEEE_TYPES:
                    raise DataError(f"{path}:{number}: unknown entity type {kind!r}")
                if not 0 <= start < end <= len(text):
                    stats.problems.append((number, annotation.strip(), "empty or out-of-range span"))
                    continue
                entities.append(Entity(start, end, kind, text[start:end]))
            stats.samples += 1
            stats.entities += len(entities)
            yield NerSample(text, tuple(entities), number)
