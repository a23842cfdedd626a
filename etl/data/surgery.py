"""Operation normalisation data: `data.surgery_terms`, raw operation strings with their ICD-9-CM-3 name.

One row a line, `raw<TAB>code<TAB>standard name` (2,500 rows, 1,089 distinct names, each name with
one code). The rows are read as CHIP-CDN records (one gold name each), so the disease normaliser's
training, decision and metric code applies unchanged; the names with their codes are the concepts.
The held-out rows are a seeded shuffle's first `held_out` rows (`random.Random(seed).shuffle`, the
split the first measurements used): same file and seed, same split.
"""
from __future__ import annotations

import random
from pathlib import Path

from etl.data.cdn import CdnRecord, Concept
from etl.data.files import open_text
from etl.errors import DataError

SURGERY_SYSTEM = "ICD-9-CM-3"  # the code system of the names (labels.json's system)


def read_surgery_terms(path: str | Path) -> tuple[list[CdnRecord], list[Concept]]:
    """(the rows as records, the distinct names with their code in first-seen order; a name with
    several codes keeps the shortest, as the ICD-10 vocabulary does)."""
    records, codes = [], {}
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            fields = [f.strip() for f in line.rstrip("\n").split("\t")]
            if len(fields) != 3 or not all(fields):
                raise DataError(f"{path}:{number}: expected raw<TAB>code<TAB>name, got {line.strip()[:60]!r}")
            raw, code, name = fields
            records.append(CdnRecord(raw, (name,)))
            if name not in codes or len(code) < len(codes[name]):
                codes[name] = code
    if not records:
        raise DataError(f"{path}: no raw<TAB>code<TAB>name rows")
    return records, [Concept(code, name) for name, code in codes.items()]


def split_surgery(records: list[CdnRecord], held_out: int, seed: int) -> tuple[list[CdnRecord], list[CdnRecord]]:
    """(training rows, held-out rows): a seeded shuffle, its first `held_out` rows held out."""
    if not 0 < held_out < len(records):
        raise DataError(f"cannot hold out {held_out} of {len(records)} surgery rows")
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    return [records[i] for i in order[held_out:]], [records[i] for i in order[:held_out]]
