"""Extract stage: stream documents out of Parquet in record batches (bounded memory).

`PATH` may be a Parquet file, a folder of them or a glob. Everything that can be checked before
work starts is checked in `open_input()`: files exist and are readable Parquet, and the configured
id/text/metadata columns are present in every file. Then `iter_rows()` yields, for each input row,
either a `SourceDocument` or a `Quarantined` record with the reason — never nothing, so every
row ends up written, skipped with a reason or quarantined.
"""
from __future__ import annotations

import glob
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from etl.errors import DataError

# Quarantine reasons (stable strings: they are counted in the run report).
NULL_TEXT = "null_text"
EMPTY_TEXT = "empty_text"
NON_STRING_TEXT = "non_string_text"
UNDECODABLE_TEXT = "undecodable_text"
TEXT_TOO_LONG = "text_too_long"
MISSING_ID = "missing_id"
DUPLICATE_ID = "duplicate_id"


@dataclass(frozen=True)
class SourceDocument:
    doc_id: str
    text: str
    source: str  # file the row came from
    row: int  # 0-based row number in that file
    content_hash: str  # sha256 of text + metadata: the ledger compares it between runs
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Quarantined:
    source: str
    row: int
    doc_id: str | None
    reason: str
    detail: str


@dataclass(frozen=True)
class InputSet:
    files: tuple[str, ...]
    rows: int  # from the Parquet footers: the progress bar's total
    id_column: str
    text_column: str
    metadata_columns: tuple[str, ...]


def _expand(path: str) -> list[str]:
    candidate = Path(path)
    if candidate.is_dir():
        files = sorted(str(p) for p in candidate.rglob("*.parquet"))
        if not files:
            raise DataError(f"no *.parquet files under {path}")
        return files
    if candidate.is_file():
        return [str(candidate)]
    if any(ch in path for ch in "*?["):
        files = sorted(f for f in glob.glob(path, recursive=True) if Path(f).is_file())
        if not files:
            raise DataError(f"no files match {path}")
        return files
    raise DataError(f"input not found: {path}")


def open_input(path: str | Path, id_column: str, text_column: str,
               metadata_columns: tuple[str, ...] = ()) -> InputSet:
    """Check every file and column before any work starts; clear error otherwise."""
    files = _expand(str(path))
    rows = 0
    wanted = (id_column, text_column, *metadata_columns)
    for name in files:
        try:
            metadata = pq.read_metadata(name)
        except (OSError, pa.ArrowException) as error:
            raise DataError(f"{name}: not a readable Parquet file ({error})") from None
        columns = set(metadata.schema.to_arrow_schema().names)
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise DataError(f"{name}: missing column(s) {', '.join(missing)} (has: {', '.join(sorted(columns))}); "
                            "set input.id_column / input.text_column / input.metadata_columns")
        rows += metadata.num_rows
    return InputSet(tuple(files), rows, id_column, text_column, tuple(metadata_columns))


def content_hash(text: str, metadata: dict) -> str:
    digest = hashlib.sha256(text.encode("utf-8"))
    digest.update(b"\0" + json.dumps(metadata, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
    return digest.hexdigest()


def _plain(value):
    """Metadata values as graph-storable scalars."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def iter_rows(inputs: InputSet, max_text_chars: int, batch_rows: int = 256,
              limit: int | None = None) -> Iterator[SourceDocument | Quarantined]:
    """Every input row, in file order, as a document or a quarantine record (at most `limit` rows)."""
    seen_ids: set[str] = set()
    produced = 0
    columns = [inputs.id_column, inputs.text_column, *inputs.metadata_columns]
    for name in inputs.files:
        row = 0
        try:
            batches = ds.dataset(name, format="parquet").to_batches(columns=columns, batch_size=batch_rows)
            for batch in batches:
                ids = batch.column(inputs.id_column).to_pylist()
                texts = batch.column(inputs.text_column).to_pylist()
                meta_values = [batch.column(c).to_pylist() for c in inputs.metadata_columns]
                for i in range(batch.num_rows):
                    if limit is not None and produced >= limit:
                        return
                    produced += 1
                    metadata = {c: _plain(v[i]) for c, v in zip(inputs.metadata_columns, meta_values)}
                    yield _check_row(name, row, ids[i], texts[i], metadata, seen_ids, max_text_chars)
                    row += 1
        except (OSError, pa.ArrowException) as error:
            raise DataError(f"{name}: read failed at row {row} ({error})") from None


def _check_row(source, row, raw_id, text, metadata, seen_ids, max_text_chars):
    doc_id = None if raw_id is None else _plain(raw_id)
    doc_id = None if doc_id is None or str(doc_id).strip() == "" else str(doc_id)

    def bad(reason, detail):
        return Quarantined(source, row, doc_id, reason, detail)

    if doc_id is None:
        return bad(MISSING_ID, "the id column is null or empty")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            return bad(UNDECODABLE_TEXT, f"text is not UTF-8 ({error.reason} at byte {error.start})")
    if text is None:
        return bad(NULL_TEXT, "text is null")
    if not isinstance(text, str):
        return bad(NON_STRING_TEXT, f"text is {type(text).__name__}, not a string")
    if "\ufffd" in text and text.count("\ufffd") * 10 >= len(text):
        return bad(UNDECODABLE_TEXT, "text is mostly U+FFFD replacement characters")
    if not text.strip():
        return bad(EMPTY_TEXT, "text is empty or whitespace")
    if len(text) > max_text_chars:
        return bad(TEXT_TOO_LONG, f"{len(text)} characters > input.max_text_chars={max_text_chars}")
    if doc_id in seen_ids:
        return bad(DUPLICATE_ID, "this id already appeared earlier in this run; the first row was kept")
    seen_ids.add(doc_id)
    return SourceDocument(doc_id, text, source, row, content_hash(text, metadata), metadata)


class QuarantineWriter:
    """Quarantined rows as JSON lines (one file per run), with reason and a preview of the row."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.count = 0
        self.by_reason: dict[str, int] = {}
        self._handle = None

    def write(self, record: Quarantined) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "w", encoding="utf-8")
        self._handle.write(json.dumps(record.__dict__, ensure_ascii=False) + "\n")
        self._handle.flush()
        self.count += 1
        self.by_reason[record.reason] = self.by_reason.get(record.reason, 0) + 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
