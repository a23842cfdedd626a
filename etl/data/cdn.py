"""Diagnosis normalisation data: CHIP-CDN records, the ICD-10 vocabulary, CBLUE text pairs.

- CHIP-CDN (`data.cdn_train`, `data.cdn_dev`): {"text": raw diagnosis, "normalized_result":
  "name##name"}, the names from the ICD-10 Beijing clinical version 6.01.
- The vocabulary (`data.icd10`): `code<TAB>name`, 40,474 codes, 37,645 distinct names. The CDN
  metric is over names, so a name is the unit here; a name that several codes carry
  (`鼻咽恶性肿瘤` is C11 and C11.9) keeps the shortest code (ties: the first), the category an
  analyst would join on.
- Pairs (`data.pairs`, a folder): CHIP-STS (text1, text2, label 0/1), KUAKE-QQR (query1, query2,
  label 0/1/2), KUAKE-QTR (query, title, label 0-3), the siamese encoder's first training task.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from etl.data.files import open_text, read_jsonl
from etl.errors import DataError

NAME_SEPARATOR = "##"


@dataclass(frozen=True)
class CdnRecord:
    text: str
    names: tuple[str, ...]  # gold standard names, as listed (possibly empty)


@dataclass(frozen=True)
class Concept:
    code: str
    name: str


@dataclass(frozen=True)
class TextPair:
    task: str  # sts | qqr | qtr
    first: str
    second: str
    label: int


def parse_cdn(row: dict, number: int) -> CdnRecord:
    text, result = row["text"], row.get("normalized_result", "")
    if not isinstance(text, str) or not isinstance(result, str):
        raise TypeError('"text" and "normalized_result" must be strings')
    names = tuple(dict.fromkeys(n.strip() for n in result.split(NAME_SEPARATOR) if n.strip()))
    return CdnRecord(text.strip(), names)


def read_cdn(path: str | Path) -> list[CdnRecord]:
    return list(read_jsonl(path, parse_cdn, "a CHIP-CDN record ({\"text\", \"normalized_result\"})"))


def read_vocabulary(path: str | Path) -> list[Concept]:
    """One Concept per distinct name, in file order (the shortest code of the name's codes)."""
    best: dict[str, str] = {}
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            code, _, name = line.partition("\t")
            code, name = code.strip(), name.strip()
            if not code or not name:
                raise DataError(f"{path}:{number}: expected code<TAB>name, got {line[:60]!r}")
            if name not in best or len(code) < len(best[name]):
                best[name] = code
    if not best:
        raise DataError(f"{path}: no code<TAB>name rows")
    return [Concept(code, name) for name, code in best.items()]


PAIR_FILES = {"sts": ("chip_sts", "text1", "text2"), "qqr": ("kuake_qqr", "query1", "query2"),
              "qtr": ("kuake_qtr", "query", "title")}
PAIR_LABELS = {"sts": 2, "qqr": 3, "qtr": 4}  # label values 0 .. n-1 per task


def read_pairs(folder: str | Path, split: str) -> list[TextPair]:
    """The three CBLUE pair tasks of one split (train | dev) from `folder`."""
    pairs = []
    for task, (stem, first, second) in PAIR_FILES.items():
        def parse(row: dict, number: int, task=task, first=first, second=second) -> TextPair:
            label = int(row["label"])
            if not 0 <= label < PAIR_LABELS[task]:
                raise ValueError(f"label {label} outside 0..{PAIR_LABELS[task] - 1}")
            return TextPair(task, str(row[first]), str(row[second]), label)

        pairs.extend(read_jsonl(Path(folder) / f"{stem}_{split}.jsonl", parse, f"a {stem} pair"))
    return pairs
