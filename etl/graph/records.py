"""What the pipeline hands to a sink: documents, the evidence found in them, and run records.

Plain frozen dataclasses with no store in sight, so the pipeline (issue 6), the sinks and the
Parquet writer share one vocabulary. Types and predicates are the Chinese CMeIE names; the sink
maps them to graph labels and relationship types through the schema whitelist.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple

# Values a store returns as they are (the sinks' `plain()` passes them through untouched).
SCALARS = frozenset((str, int, float, bool, type(None)))

# Assertion status of a finding (etl/models/assertion): only evidence whose subject and object are
# both present makes (and counts towards) a typed relationship; the rest is kept as evidence.
PRESENT, ABSENT, POSSIBLE = "present", "absent", "possible"
ASSERTIONS = (PRESENT, ABSENT, POSSIBLE)
EXPERIENCERS = ("patient", "family")


@dataclass(frozen=True)
class Document:
    """One input note. `content_hash` + `model_versions` form the ledger entry that tells the next
    run whether this document must be processed again."""
    doc_id: str
    source_file: str
    content_hash: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    model_versions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    """One extracted triple in one document, with where it was found and how sure the models were.

    Offsets are character offsets into the document text (end exclusive); `sentence` is the window
    or sentence the models read, `sentence_start`/`sentence_end` its place in the document.
    """
    doc_id: str
    subject: str
    subject_type: str
    predicate: str
    object: str
    object_type: str
    score: float
    subject_start: int | None = None
    subject_end: int | None = None
    object_start: int | None = None
    object_end: int | None = None
    sentence: str = ""
    sentence_start: int | None = None
    sentence_end: int | None = None
    relation_model: str = ""
    span_model: str = ""
    run_id: str = ""  # empty: the run id given to write_documents()
    # What the note says of each end (ASSERTIONS; EXPERIENCERS; a past finding such as 既往...史).
    subject_assertion: str = PRESENT
    object_assertion: str = PRESENT
    subject_experiencer: str = "patient"
    object_experiencer: str = "patient"
    subject_historical: bool = False
    object_historical: bool = False
    assertion_model: str = ""  # version of the assertion model (or rules) that judged both ends

    @property
    def asserted(self) -> bool:
        """Both ends present: the evidence supports a typed relationship."""
        return self.subject_assertion == PRESENT and self.object_assertion == PRESENT


@dataclass
class RunRecord:
    """One `etl run`: stored as a :Run node so "what did the last run add" can be asked."""
    run_id: str
    started_at: str  # ISO 8601 text (temporal values are not portable across the two stores)
    finished_at: str | None = None
    status: str = "running"
    counts: dict[str, int] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)  # e.g. model versions, input path


class LedgerEntry(NamedTuple):
    """What the store remembers of a document it has fully written."""
    content_hash: str
    model_versions: dict[str, str]


@dataclass(frozen=True)
class WriteStats:
    documents: int = 0
    evidence: int = 0
    evidence_removed: int = 0
    entities: int = 0
    relationships: int = 0

    def __add__(self, other: "WriteStats") -> "WriteStats":
        return WriteStats(*(a + b for a, b in zip(self._tuple(), other._tuple())))

    def _tuple(self):
        return (self.documents, self.evidence, self.evidence_removed, self.entities, self.relationships)


def versions_to_text(versions: Mapping[str, str]) -> str:
    """Model versions as canonical JSON (sorted keys): stored on Document nodes, compared as text."""
    return json.dumps(dict(versions), sort_keys=True, ensure_ascii=False)


def versions_from_text(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
