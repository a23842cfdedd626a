"""EMR-RE JSONL: relation triples annotated in admission notes (`../shared/data/emr_re/`).

One JSON object a line: `{"id", "text", "spo_list": [{"subject", "subject_type", "predicate",
"object", "object_type", "assertion", "subject_start", "object_start"}], "entities": [{"start",
"end", "type", "text"}]}` (ANNOTATION.md beside the data is the guideline and the scoring).
`assertion` is `present` or `possible` (denied findings are not annotated). Offsets are end
exclusive; they were placed by program after annotation (a few may be off), so a triple whose
offset does not hold its string is placed on the string's first occurrence instead, and one
whose string is not in the text at all keeps no place (the scorer uses strings only).

The same reader accepts a file without `entities` or offsets (a user's own annotation), and
`assertion` defaults to present: this is the format `etl evaluate notes` and `etl train` read.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from etl.data.files import read_jsonl

PRESENT, POSSIBLE, ABSENT = "present", "possible", "absent"
# Gold files hold present and possible; a prediction file (`etl evaluate notes --write-pred`) also
# keeps the triples the system judged absent, which scoring ignores.
ASSERTIONS = (PRESENT, POSSIBLE, ABSENT)


@dataclass(frozen=True)
class NoteTriple:
    subject: str
    subject_type: str
    predicate: str
    object: str
    object_type: str
    assertion: str = PRESENT
    subject_start: int | None = None  # None: the string is not in the text
    object_start: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subject, self.predicate, self.object)

    @property
    def subject_end(self) -> int | None:
        return None if self.subject_start is None else self.subject_start + len(self.subject)

    @property
    def object_end(self) -> int | None:
        return None if self.object_start is None else self.object_start + len(self.object)


@dataclass(frozen=True)
class NoteEntity:
    start: int
    end: int  # exclusive
    type: str
    text: str


@dataclass(frozen=True)
class Note:
    id: str
    text: str
    triples: tuple[NoteTriple, ...] = ()
    entities: tuple[NoteEntity, ...] = ()
    line: int = 0

    def main_condition(self) -> str | None:
        """The note's main condition as the annotation gives it: the subject of most triples
        (ANNOTATION.md: every triple of the main condition takes the admission/diagnosis name),
        ties going to the one the note names first; None for a note without triples."""
        counts = Counter(t.subject for t in self.triples)
        if not counts:
            return None
        top = max(counts.values())
        names = [name for name, n in counts.items() if n == top]
        return min(names, key=lambda name: (self.text.find(name) % (len(self.text) + 1), name))


def _place(text: str, string: str, start) -> int | None:
    if isinstance(start, int) and not isinstance(start, bool) and text[start:start + len(string)] == string:
        return start
    found = text.find(string) if string else -1
    return found if found >= 0 else None


def _string(row: dict, key: str) -> str:
    value = row.get(key)
    if isinstance(value, dict):  # CMeIE writes {"@value": ...}
        value = value.get("@value")
    if not isinstance(value, str):
        raise KeyError(f"{key} must be a string")
    return value


def parse_note(row: dict, line: int = 0) -> Note:
    text = row["text"]
    if not isinstance(text, str):
        raise KeyError("text must be a string")
    note_id = row.get("id", row.get("doc_id", f"line-{line}"))
    triples = []
    for spo in row.get("spo_list") or []:
        subject, obj = _string(spo, "subject"), _string(spo, "object")
        assertion = spo.get("assertion") or PRESENT
        if assertion not in ASSERTIONS:
            raise KeyError(f"assertion must be one of {ASSERTIONS}, got {assertion!r}")
        triples.append(NoteTriple(
            subject, _string(spo, "subject_type") if "subject_type" in spo else "",
            _string(spo, "predicate"), obj, _string(spo, "object_type") if "object_type" in spo else "",
            assertion, _place(text, subject, spo.get("subject_start")), _place(text, obj, spo.get("object_start"))))
    entities = []
    for entity in row.get("entities") or []:
        start, end = int(entity["start"]), int(entity["end"])
        if not 0 <= start < end <= len(text):
            raise KeyError(f"entity offsets {start}-{end} outside the text")
        entities.append(NoteEntity(start, end, str(entity["type"]), text[start:end]))
    return Note(str(note_id), text, tuple(triples), tuple(entities), line)


def read_notes(path: str | Path) -> Iterator[Note]:
    """The notes of an EMR-RE JSONL file (UTF-8, optional BOM); a malformed line is a DataError
    naming the file and line."""
    return read_jsonl(path, parse_note, "an EMR-RE note")
