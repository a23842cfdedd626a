"""CHIP-CDEE clinical findings with their assertion status, placed at character offsets.

One JSON object a line: {"id", "text", "event": [{"core_name", "tendency", "character",
"anatomy_list"}]}. `tendency` is the assertion: "" present, "否定" absent, "不确定" possible.
The files give no offsets, and `core_name` is sometimes a normalised name, so each finding is
placed here, the same way for training, evaluation and `etl evaluate assertions`:

1. verbatim: `core_name` occurs in the text. Events are listed in text order (953 of 1,043
   training texts with two or more once-occurring names list them in order), so a name that
   occurs several times is placed at its first occurrence at or after the previous event's start
   that no earlier event took; failing that, its first free occurrence. Two events 疼痛, 疼痛 in
   "...疼痛...疼痛..." therefore take one occurrence each, in order. An event whose every
   occurrence an earlier event already took is not placed there: it is usually a normalised name
   (疼痛 for 腹痛) whose status belongs to another place (23% of such placements disagreed with the
   rules on train, against 3% of the others), so it goes on to step 2.
2. gapped: the name's characters in order inside one clause, first and last character included,
   longer than the name by at most GAP characters, and by at most two per gap between its
   characters (体重变化 in 体重无明显变化, 十二指肠球隆起 in 十二指肠球部隆起; not 出血 in
   出现少量阴道流血); the earliest such window at or after the previous event's start.
3. otherwise the finding cannot be placed (疼痛 normalised from 胸痛, 癌 from ca): it is counted
   (`placement == "unplaced"`) and left out of training and evaluation, never silently dropped.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from etl.data.files import open_text
from etl.errors import DataError
from etl.records import ABSENT, POSSIBLE, PRESENT

TENDENCY = {"": PRESENT, "否定": ABSENT, "不确定": POSSIBLE}
GAP = 6  # extra characters a gapped placement may span (体重无明显变化 = 体重变化 + 3)
CLAUSE_BREAK = re.compile(r"[，,。；;！!？?\n]")
VERBATIM, GAPPED, UNPLACED = "verbatim", "gapped", "unplaced"


@dataclass(frozen=True)
class Finding:
    name: str  # core_name as given
    status: str  # PRESENT | ABSENT | POSSIBLE
    start: int | None  # character offsets of the placed mention, end exclusive (None: unplaced)
    end: int | None
    placement: str  # VERBATIM | GAPPED | UNPLACED

    @property
    def placed(self) -> bool:
        return self.start is not None


@dataclass(frozen=True)
class CdeeSample:
    id: str
    text: str
    findings: tuple[Finding, ...]


def read_cdee(path: str | Path) -> list[CdeeSample]:
    """All samples of a CDEE JSONL file, findings placed; a bad line is a DataError naming it."""
    samples = []
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, events = row["text"], row["event"]
                if not isinstance(text, str) or not isinstance(events, list):
                    raise TypeError("text must be a string and event a list")
                names = [str(e["core_name"]) for e in events]
                statuses = [TENDENCY[e.get("tendency") or ""] for e in events]
            except (ValueError, KeyError, TypeError) as error:
                raise DataError(f"{path}, line {number}: not a CDEE sample ({type(error).__name__}: "
                                f"{error})") from None
            places = place_findings(text, names)
            findings = tuple(Finding(name, status, *place) for name, status, place in zip(names, statuses, places))
            samples.append(CdeeSample(str(row.get("id", number)), text, findings))
    return samples


def place_findings(text: str, names: Sequence[str]) -> list[tuple[int | None, int | None, str]]:
    """(start, end, placement) for each name, in the order given (see the module docstring)."""
    out: list[tuple[int | None, int | None, str]] = []
    cursor, taken = 0, set()
    for name in names:
        place = _verbatim(text, name, cursor, taken) if name else None
        how = VERBATIM
        if place is None and len(name) > 1:
            place, how = _gapped(text, name, cursor, taken), GAPPED
        if place is None:
            out.append((None, None, UNPLACED))
            continue
        taken.add(place)
        cursor = place[0]
        out.append((place[0], place[1], how))
    return out


def _verbatim(text: str, name: str, cursor: int, taken: set) -> tuple[int, int] | None:
    starts = [m.start() for m in re.finditer(f"(?={re.escape(name)})", text)]
    if not starts:
        return None
    free = [s for s in starts if (s, s + len(name)) not in taken]
    if not free:
        return None
    start = next((s for s in free if s >= cursor), free[0])
    return start, start + len(name)


def _gapped(text: str, name: str, cursor: int, taken: set) -> tuple[int, int] | None:
    # name's characters in order, lazily: the shortest window starting at each first character
    pattern = re.compile("".join(re.escape(c) + (".{0,%d}?" % GAP if i < len(name) - 1 else "")
                                 for i, c in enumerate(name)))
    longest = len(name) + min(GAP, 2 * (len(name) - 1))
    candidates = []
    for start in (m.start() for m in re.finditer(re.escape(name[0]), text)):
        match = pattern.match(text, start)
        if match and match.end() - start <= longest and not CLAUSE_BREAK.search(match.group()):
            candidates.append((start, match.end()))
    free = [c for c in candidates if c not in taken]
    if not free:
        return None
    return next((c for c in free if c[0] >= cursor), free[0])


def placement_counts(samples: Iterable[CdeeSample]) -> dict:
    """How the findings were placed, overall and by status (for reports and metrics.json)."""
    counts: dict = {"findings": 0, VERBATIM: 0, GAPPED: 0, UNPLACED: 0, "by_status": {}}
    for sample in samples:
        for f in sample.findings:
            counts["findings"] += 1
            counts[f.placement] += 1
            by = counts["by_status"].setdefault(f.status, {VERBATIM: 0, GAPPED: 0, UNPLACED: 0})
            by[f.placement] += 1
    return counts
