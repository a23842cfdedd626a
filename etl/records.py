"""The domain's records: a document, the evidence found in it, and what a note says of a finding.

Plain frozen dataclasses with no store or model in sight, so the run's stages, the note rules,
the models' data code, the sinks and the Parquet writer share one vocabulary. Types and predicates
are the Chinese CMeIE names; a sink maps them to graph labels and relationship types through the
schema whitelist.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

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
