"""What a sink keeps besides the domain's records (etl/records.py): run records, ledger entries,
write counts, and how model versions are stored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, NamedTuple

# Values a store returns as they are (the sinks' `plain()` passes them through untouched).
SCALARS = frozenset((str, int, float, bool, type(None)))


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
