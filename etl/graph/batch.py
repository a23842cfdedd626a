"""Turn a batch of documents + evidence into store-ready rows: validated, normalised, keyed,
de-duplicated and grouped by (label, relationship type), so every statement names only whitelisted
labels and types and carries all data as parameters.

Assertions: each end of a triple is present, absent (denied: 无恶心) or possible (考虑肺炎) in its
note. Every piece of evidence is kept, whatever its assertions; it gets one combined `assertion`
(`evidence_assertion`): present when both ends are present (`asserted`: it supports a typed
relationship), else absent when either end is absent, else possible. Only edges with asserted
evidence in the batch are MERGEd (PreparedBatch.edges).

Keys:
- entity key: (label, normalised name), unique per label;
- edge key: hash of (subject label, subject key, relationship type, object label, object key);
- evidence key: hash of (document, edge key, subject and object offsets). The same triple at the
  same place found twice (overlapping windows) is one piece of evidence: the higher score wins.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from etl import values
from etl.graph.names import MAX_KEY_BYTES, name_key, normalize_name
from etl.records import ABSENT, ASSERTIONS, EXPERIENCERS, POSSIBLE, PRESENT, Document, Evidence
from etl.graph.records import versions_to_text
from etl.schema import Schema

# The properties of an Evidence node, exactly the keys of _evidence_row(): the evidence statement
# names each one (statements.create_evidence), and a test keeps the two in step.
EVIDENCE_PROPERTIES = (
    "key", "edge_key", "doc_id",
    "subject", "subject_surface", "subject_label", "subject_full_name", "subject_type",
    "subject_start", "subject_end", "predicate", "rel_type",
    "object", "object_surface", "object_label", "object_full_name", "object_type",
    "object_start", "object_end", "score", "sentence", "sentence_start", "sentence_end",
    "relation_model", "span_model", "run_id",
    "subject_assertion", "object_assertion", "subject_experiencer", "object_experiencer",
    "subject_historical", "object_historical", "assertion_model", "assertion", "asserted",
)

# Keys of Document node properties we set ourselves; metadata columns get a prefix so a column
# called e.g. "content_hash" cannot overwrite the ledger.
METADATA_PREFIX = "meta_"


class InvalidEvidence(ValueError):
    """An evidence row the schema does not allow, or one with an empty name or unknown document."""


def _hash(*parts: Any) -> str:
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def edge_key(subject_label: str, subject: str, rel_type: str, object_label: str, obj: str) -> str:
    return _hash(subject_label, subject, rel_type, object_label, obj)


def evidence_assertion(subject_assertion: str, object_assertion: str) -> str:
    """The assertion of a piece of evidence from those of its ends: present iff both are present;
    absent if either is absent (an absent end outweighs a possible one); otherwise possible."""
    ends = (subject_assertion, object_assertion)
    if ABSENT in ends:
        return ABSENT
    if POSSIBLE in ends:
        return POSSIBLE
    return PRESENT


def _scalar(value: Any) -> Any:
    """Graph properties must be scalars (or lists of them): anything else is stored as JSON text.
    Strings are made store-safe (etl/values.py)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (str, bytes)):
        return values.clean_value(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, (bool, int, float, str)) for v in value):
        return values.clean_value(list(value))
    return values.clean_text(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


@dataclass
class PreparedBatch:
    run_id: str
    doc_ids: list[str]
    documents: list[dict]  # [{doc_id, props}] : the ledger rows, written last
    # label -> name key -> surface forms seen in this batch (ordered, distinct)
    nodes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    full_names: dict[str, str] = field(default_factory=dict)  # name key -> whole name, when cut
    # (subject label, rel type, object label) -> rows of the edges that asserted evidence supports
    edges: dict[tuple[str, str, str], list[dict]] = field(default_factory=dict)
    # (subject label, rel type, object label) -> evidence rows
    evidence: dict[tuple[str, str, str], list[dict]] = field(default_factory=dict)

    @property
    def evidence_count(self) -> int:
        return sum(len(rows) for rows in self.evidence.values())


def document_props(doc: Document, run_id: str, evidence_count: int, asserted_count: int) -> dict:
    props = {
        "doc_id": doc.doc_id,
        "source_file": values.clean_text(doc.source_file),
        "content_hash": doc.content_hash,
        "model_versions": versions_to_text(doc.model_versions),
        "run_id": run_id,
        "evidence_count": evidence_count,
        "asserted_count": asserted_count,
    }
    for key, value in sorted(doc.metadata.items()):
        props[METADATA_PREFIX + str(key)] = _scalar(value)
    return props


def prepare_batch(schema: Schema, documents: Sequence[Document], evidence: Iterable[Evidence],
                  run_id: str) -> PreparedBatch:
    if not run_id:
        raise ValueError("run_id is required")
    if len(run_id.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError(f"run_id longer than {MAX_KEY_BYTES} bytes")
    by_id: dict[str, Document] = {}
    for doc in documents:
        try:  # a unique key: the rules of etl/values.py (extract.py quarantines such rows first)
            if values.check_id(doc.doc_id) != doc.doc_id:
                raise values.InvalidId(values.INVALID_ID, "the id has leading or trailing whitespace")
        except values.InvalidId as error:
            raise InvalidEvidence(f"document {values.id_preview(doc.doc_id)!r}: {error.detail}") from None
        by_id[doc.doc_id] = doc  # a repeated id: the last one wins, as a re-write would
    best: dict[str, tuple[tuple, dict]] = {}
    names = _Names()
    for ev in evidence:
        row = _evidence_row(schema, ev, by_id, run_id, names)
        # Deterministic winner among duplicates: highest score, then earliest window.
        rank = (row["score"], -(row["sentence_start"] if row["sentence_start"] is not None else -1),
                row["sentence"])
        current = best.get(row["key"])
        if current is None or rank > current[0]:
            best[row["key"]] = (rank, row)
    prepared = PreparedBatch(run_id, list(by_id), [])
    per_doc: dict[str, int] = defaultdict(int)
    asserted_per_doc: dict[str, int] = defaultdict(int)
    nodes: dict[str, dict[str, list[str]]] = defaultdict(dict)
    edges: dict[tuple[str, str, str], dict[str, dict]] = defaultdict(dict)
    evidence_rows: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for key in sorted(best):  # sorted: the same input gives the same statements
        row = best[key][1]
        group = (row["subject_label"], row["rel_type"], row["object_label"])
        for role in ("subject", "object"):
            forms = nodes[row[f"{role}_label"]].setdefault(row[role], [])
            if row[f"{role}_surface"] not in forms:
                forms.append(row[f"{role}_surface"])
            if row[f"{role}_full_name"] is not None:
                prepared.full_names[row[role]] = row[f"{role}_full_name"]
        if row["asserted"]:  # a typed relationship only where some evidence asserts both ends
            edges[group].setdefault(row["edge_key"], {
                "s": row["subject"], "o": row["object"], "edge_key": row["edge_key"],
                "predicate": row["predicate"]})
            asserted_per_doc[row["doc_id"]] += 1
        evidence_rows[group].append({"key": key, "doc_id": row["doc_id"], "s": row["subject"],
                                     "o": row["object"], "props": row})
        per_doc[row["doc_id"]] += 1
    prepared.nodes = {label: dict(names) for label, names in nodes.items()}
    prepared.edges = {group: list(rows.values()) for group, rows in edges.items()}
    prepared.evidence = dict(evidence_rows)
    prepared.documents = [{"doc_id": doc_id, "props": document_props(doc, run_id, per_doc[doc_id],
                                                                     asserted_per_doc[doc_id])}
                          for doc_id, doc in by_id.items()]
    return prepared


class _Names(dict):
    """Raw name -> (normalised name, its key), computed once per distinct name of a batch: names
    repeat (高血压 in many notes), and normalising is a good part of a batch's client time."""

    def __missing__(self, raw: str) -> tuple[str, str]:
        full = normalize_name(raw)
        self[raw] = value = (full, name_key(full) if full else "")
        return value


def _evidence_row(schema: Schema, ev: Evidence, docs: Mapping[str, Document], run_id: str,
                  names: _Names) -> dict:
    if ev.doc_id not in docs:
        raise InvalidEvidence(f"evidence for document {ev.doc_id!r} that is not in this batch")
    if not schema.allows(ev.subject_type, ev.predicate, ev.object_type):
        raise InvalidEvidence(f"document {ev.doc_id!r}: ({ev.subject_type}, {ev.predicate}, "
                              f"{ev.object_type}) is not a triple the schema allows")
    if ev.run_id and ev.run_id != run_id:
        raise InvalidEvidence(f"document {ev.doc_id!r}: evidence of run {ev.run_id!r} written as run {run_id!r}")
    (subject_full, subject), (object_full, obj) = names[ev.subject], names[ev.object]
    if not subject_full or not object_full:
        raise InvalidEvidence(f"document {ev.doc_id!r}: empty subject or object name")
    try:
        score = float(ev.score)
    except (TypeError, ValueError):
        raise InvalidEvidence(f"document {ev.doc_id!r}: score {ev.score!r} is not a number") from None
    if score != score:  # NaN would poison max/avg
        raise InvalidEvidence(f"document {ev.doc_id!r}: score is NaN")
    assertions = _assertions(ev)
    s_label, o_label = schema.label(ev.subject_type), schema.label(ev.object_type)
    rel_type = schema.rel_type(ev.predicate)
    e_key = edge_key(s_label, subject, rel_type, o_label, obj)
    key = _hash(ev.doc_id, e_key, ev.subject_start, ev.subject_end, ev.object_start, ev.object_end)
    return {
        "key": key, "edge_key": e_key, "doc_id": ev.doc_id,
        "subject": subject, "subject_surface": values.clean_text(ev.subject), "subject_label": s_label,
        "subject_full_name": subject_full if subject_full != subject else None,
        "subject_type": ev.subject_type, "subject_start": ev.subject_start, "subject_end": ev.subject_end,
        "predicate": ev.predicate, "rel_type": rel_type,
        "object": obj, "object_surface": values.clean_text(ev.object), "object_label": o_label,
        "object_full_name": object_full if object_full != obj else None,
        "object_type": ev.object_type, "object_start": ev.object_start, "object_end": ev.object_end,
        "score": score, "sentence": values.clean_text(ev.sentence),
        "sentence_start": ev.sentence_start, "sentence_end": ev.sentence_end,
        "relation_model": ev.relation_model, "span_model": ev.span_model, "run_id": run_id,
        **assertions,
    }


def _assertions(ev: Evidence) -> dict:
    """The assertion properties of a piece of evidence, validated: an unknown value is refused
    (InvalidEvidence) rather than guessed, since it decides whether a typed relationship exists."""
    out: dict[str, Any] = {}
    for kind, allowed in (("assertion", ASSERTIONS), ("experiencer", EXPERIENCERS)):
        for role in ("subject", "object"):
            value = getattr(ev, f"{role}_{kind}")
            if value not in allowed:
                raise InvalidEvidence(f"document {ev.doc_id!r}: {role}_{kind} {value!r} is not one of "
                                      f"{', '.join(allowed)}")
            out[f"{role}_{kind}"] = value
    for role in ("subject", "object"):
        value = getattr(ev, f"{role}_historical")
        if not _is_bool(value):
            raise InvalidEvidence(f"document {ev.doc_id!r}: {role}_historical {value!r} is not true or false")
        out[f"{role}_historical"] = bool(value)
    if not isinstance(ev.assertion_model, str):
        raise InvalidEvidence(f"document {ev.doc_id!r}: assertion_model {ev.assertion_model!r} is not text")
    out["assertion_model"] = ev.assertion_model
    out["assertion"] = evidence_assertion(out["subject_assertion"], out["object_assertion"])
    out["asserted"] = out["assertion"] == PRESENT
    return out


def _is_bool(value: Any) -> bool:
    """A Python bool, or a NumPy one (a flag taken from an array)."""
    return isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", None) == "b"
