"""Extract stage: stream documents out of Parquet in record batches (bounded memory).

`PATH` may be a Parquet file, a folder of them or a glob. In a folder, files named `*.parquet` or
`*.parq` (any case) are read, recursively; hidden and `_`-prefixed files and folders are skipped
(the Spark/Hive convention for files being written and markers such as `_SUCCESS`), and every
file read or skipped is listed with the reason. Everything that can be checked before work starts
is checked in `open_input()`: files are readable Parquet with the configured id and text columns
(a configured metadata column missing from a file is a warning, not an error). Then `iter_rows()`
yields, for each input row, either a `SourceDocument` or a `Quarantined` record with the reason —
never nothing, so every row ends up written, skipped with a reason or quarantined. Ids, text and
metadata go through etl/values.py here, the input side of the one normalisation point.
"""
from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from etl import values
from etl.errors import DataError, OutputError

# Quarantine reasons (stable strings: they are counted in the run report).
NULL_TEXT = "null_text"
EMPTY_TEXT = "empty_text"
NON_STRING_TEXT = "non_string_text"
UNDECODABLE_TEXT = "undecodable_text"
TEXT_TOO_LONG = "text_too_long"
MISSING_ID = values.MISSING_ID
INVALID_ID = values.INVALID_ID
UNDECODABLE_ID = values.UNDECODABLE_ID
ID_TOO_LONG = values.ID_TOO_LONG
DUPLICATE_ID = "duplicate_id"
UNREADABLE_ROW = "unreadable_row"  # its row group of the file could not be read (a corrupt page)

PARQUET_SUFFIXES = (".parquet", ".parq")  # compared case-insensitively


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
    skipped: tuple[tuple[str, str], ...] = ()  # (path, reason) of what a folder or glob held but was not read
    missing_metadata: dict = field(default_factory=dict)  # file -> configured metadata columns it lacks

    @property
    def warnings(self) -> list[str]:
        return [f"{name}: no metadata column(s) {', '.join(columns)} (input.metadata_columns): left out "
                f"for its rows" for name, columns in self.missing_metadata.items()]


HIDDEN = "hidden or _-prefixed (a file being written or a marker, by the Spark/Hive convention)"
NOT_PARQUET = "not a Parquet file name (.parquet or .parq)"
LINK_LOOP = "a link to a folder already read (a loop)"


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _expand(path: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(files to read, [(path, reason) skipped])."""
    candidate = Path(path)
    files: list[str] = []
    skipped: list[tuple[str, str]] = []
    if candidate.is_dir():
        # A linked sub-folder is read like a linked file (os.walk does not follow links by default:
        # its rows were neither read nor listed); one that leads back to a folder already read is
        # listed as skipped, so a link loop ends.
        seen = {os.path.realpath(candidate)}
        for folder, dirs, names in os.walk(candidate, followlinks=True):
            for name in sorted(dirs):
                full = os.path.join(folder, name)
                if _hidden(name):
                    skipped.append((full + os.sep, HIDDEN))
                elif os.path.realpath(full) in seen:
                    skipped.append((full + os.sep, LINK_LOOP))
            dirs[:] = sorted(d for d in dirs
                             if not _hidden(d) and os.path.realpath(os.path.join(folder, d)) not in seen)
            seen.update(os.path.realpath(os.path.join(folder, d)) for d in dirs)
            for name in sorted(names):
                full = os.path.join(folder, name)
                if _hidden(name):
                    skipped.append((full, HIDDEN))
                elif not name.lower().endswith(PARQUET_SUFFIXES):
                    skipped.append((full, NOT_PARQUET))
                else:
                    files.append(full)
        if not files:
            raise DataError(f"no Parquet files (*.parquet, *.parq) under {path}"
                            + (f" ({len(skipped)} other file(s) skipped)" if skipped else ""))
        return sorted(files), skipped
    if candidate.is_file():
        return [str(candidate)], []
    if any(ch in path for ch in "*?["):
        for name in sorted(glob.glob(path, recursive=True)):
            if not Path(name).is_file():
                continue
            (skipped.append((name, HIDDEN)) if _hidden(Path(name).name) else files.append(name))
        if not files:
            raise DataError(f"no files match {path}")
        return files, skipped
    raise DataError(f"input not found: {path}")


def refuse_outputs_over_inputs(path: str | Path, inputs: InputSet, outputs: dict[str, str | Path | None]) -> None:
    """An output (`{option: path}`) that is an input file, or a Parquet file where this input
    would read it next time (inside an input folder, or matching an input glob), is refused before
    any work: `--triples-out notes.parquet` onto the input replaced 30 notes by 7 triples."""
    files = [Path(name) for name in inputs.files]
    folder = Path(path) if Path(path).is_dir() else None
    for option, output in outputs.items():
        if not output:
            continue
        target = Path(output)
        if any(_same_file(target, name) for name in files):
            raise DataError(f"{option} {output} is one of the input files: writing it would destroy the "
                            f"notes it is read from; choose another path")
        parquet = target.name.lower().endswith(PARQUET_SUFFIXES) and not _hidden(target.name)
        inside = folder is not None and _under(target, folder)
        matched = folder is None and any(ch in str(path) for ch in "*?[") and _glob_matches(path, target)
        if parquet and (inside or matched):
            raise DataError(f"{option} {output} would be read as input by the next run over {path}; "
                            f"write it outside the input")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _under(target: Path, folder: Path) -> bool:
    target, folder = Path(os.path.realpath(target)), Path(os.path.realpath(folder))
    return folder in target.parents


def _glob_matches(pattern: str | Path, target: Path) -> bool:
    """Whether the input glob matches `target`, written or not yet (fnmatch's * also crosses /,
    as the recursive ** does)."""
    return fnmatch.fnmatch(str(target.absolute()), str(Path(pattern).absolute()))


def _shown(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (surrogate escapes) shown as \\xNN."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", errors="backslashreplace")


def open_input(path: str | Path, id_column: str, text_column: str,
               metadata_columns: tuple[str, ...] = ()) -> InputSet:
    """Check every file and column before any work starts; clear error otherwise."""
    files, skipped = _expand(str(path))
    for name in files:  # pyarrow, the report and the graph need text: a name of other bytes cannot go on
        if _shown(name) != name:
            raise DataError(f"{_shown(name)}: the file name is not valid UTF-8 (bytes shown as \\x..): rename it")
    skipped = [(_shown(name), reason) for name, reason in skipped]  # listed in the report as text
    rows = 0
    missing_metadata = {}
    for name in files:
        try:
            metadata = pq.read_metadata(name)
        except (OSError, pa.ArrowException) as error:
            raise DataError(f"{name}: not a readable Parquet file ({error})") from None
        columns = set(metadata.schema.to_arrow_schema().names)
        missing = [c for c in (id_column, text_column) if c not in columns]
        if missing:
            raise DataError(f"{name}: missing column(s) {', '.join(missing)} (has: {', '.join(sorted(columns))}); "
                            "set input.id_column / input.text_column")
        absent = tuple(c for c in metadata_columns if c not in columns)
        if absent:
            missing_metadata[name] = absent
        rows += metadata.num_rows
    return InputSet(tuple(files), rows, id_column, text_column, tuple(metadata_columns), tuple(skipped),
                    missing_metadata)


TEXT_TYPES = "string, large_string, binary or large_binary"


def column_type_problems(inputs: InputSet) -> list[str]:
    """Id and text columns of a type no row could pass (e.g. a numeric text column), per file."""
    problems = []
    for name in inputs.files:
        schema = pq.read_schema(name)
        text_type = schema.field(inputs.text_column).type
        if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)
                or pa.types.is_binary(text_type) or pa.types.is_large_binary(text_type)):
            problems.append(f"{name}: text column {inputs.text_column!r} is {text_type}, not {TEXT_TYPES}")
        id_type = schema.field(inputs.id_column).type
        if pa.types.is_nested(id_type) or pa.types.is_floating(id_type) or pa.types.is_temporal(id_type):
            problems.append(f"{name}: id column {inputs.id_column!r} is {id_type}, not text or an integer")
    return problems


def sample_rows(inputs: InputSet, rows_per_file: int, max_text_chars: int) -> dict[str, int]:
    """Reasons counted over the first rows of every file, checked exactly as `etl run` checks
    them ("ok" for rows that would be extracted)."""
    counts: dict[str, int] = {}
    for name in inputs.files:
        single = InputSet((name,), 0, inputs.id_column, inputs.text_column, inputs.metadata_columns,
                          missing_metadata=inputs.missing_metadata)
        for row in iter_rows(single, max_text_chars, batch_rows=min(rows_per_file, 256), limit=rows_per_file):
            reason = row.reason if isinstance(row, Quarantined) else "ok"
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def content_hash(text: str, metadata: dict) -> str:
    digest = hashlib.sha256(text.encode("utf-8"))
    digest.update(b"\0" + json.dumps(metadata, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
    return digest.hexdigest()


def _plain(value):
    """Metadata values as graph-storable scalars, cleaned (etl/values.py)."""
    if value is None or isinstance(value, (int, float, bool)):
        return value
    if isinstance(value, (str, bytes)):
        return values.clean_value(value)
    return values.clean_text(str(value))


def _column(batch, name: str) -> list:
    """A column as Python values. A string column holding invalid UTF-8 is read as bytes, so each
    row is judged on its own (pyarrow would fail the whole batch)."""
    column = batch.column(name)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            column.validate(full=True)
        except pa.ArrowInvalid:
            binary = pa.binary() if pa.types.is_string(column.type) else pa.large_binary()
            return column.view(binary).to_pylist()
    return column.to_pylist()


@dataclass(frozen=True)
class UnreadableRows:
    """Rows [start, stop) of a file that could not be read (what a reader yields instead of them)."""
    start: int
    stop: int
    detail: str


def read_batches(name: str, columns: list[str], batch_rows: int) -> Iterator[pa.RecordBatch | UnreadableRows]:
    """One file's rows in order, `batch_rows` at a time, with pyarrow (the local engine's reader;
    the Ray engine passes its own, ray.data.read_parquet, to `iter_rows`), one row group after the
    other: a row group that cannot be read (a corrupt page) yields UnreadableRows for what is left
    of it, and reading goes on with the next (the footer, read before work starts, says where each
    group begins and how many rows it holds)."""
    parquet = pq.ParquetFile(name)
    start = 0
    for group in range(parquet.num_row_groups):
        size, done = parquet.metadata.row_group(group).num_rows, 0
        try:
            for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group], columns=columns):
                yield batch
                done += batch.num_rows
        except (OSError, pa.ArrowException) as error:
            yield UnreadableRows(start + done, start + size, f"row group {group} (rows {start}-{start + size - 1}) "
                                                             f"could not be read: {error}")
        start += size


def iter_rows(inputs: InputSet, max_text_chars: int, batch_rows: int = 256,
              limit: int | None = None, reader=read_batches) -> Iterator[SourceDocument | Quarantined]:
    """Every input row, in file order, as a document or a quarantine record (at most `limit` rows).
    `reader(file, columns, batch_rows)` yields that file's rows in order as Arrow batches or tables;
    an OSError or ArrowException from it is a read failure (DataError)."""
    seen_ids: set[str] = set()
    produced = 0
    for name in inputs.files:
        row = 0
        source = values.clean_text(name)
        absent = inputs.missing_metadata.get(name, ())
        meta_columns = [c for c in inputs.metadata_columns if c not in absent]
        columns = [inputs.id_column, inputs.text_column, *meta_columns]
        try:
            for batch in reader(name, columns, batch_rows):
                if isinstance(batch, UnreadableRows):  # every row of it quarantined: counted, never lost
                    for row in range(batch.start, batch.stop):
                        if limit is not None and produced >= limit:
                            return
                        produced += 1
                        yield Quarantined(source, row, None, UNREADABLE_ROW, batch.detail)
                    row = batch.stop
                    continue
                ids = _column(batch, inputs.id_column)
                texts = _column(batch, inputs.text_column)
                meta_values = [_column(batch, c) for c in meta_columns]
                for i in range(batch.num_rows):
                    if limit is not None and produced >= limit:
                        return
                    produced += 1
                    metadata = {c: _plain(v[i]) for c, v in zip(meta_columns, meta_values)}
                    yield _check_row(source, row, ids[i], texts[i], metadata, seen_ids, max_text_chars)
                    row += 1
        except (OSError, pa.ArrowException) as error:
            raise DataError(f"{name}: read failed at row {row} ({error})") from None


def _check_row(source, row, raw_id, text, metadata, seen_ids, max_text_chars):
    try:
        doc_id = values.check_id(raw_id)
    except values.InvalidId as error:
        return Quarantined(source, row, values.id_preview(raw_id), error.reason, error.detail)

    def bad(reason, detail):
        return Quarantined(source, row, doc_id, reason, detail)

    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            return bad(UNDECODABLE_TEXT, f"text is not UTF-8 ({error.reason} at byte {error.start})")
    if text is None:
        return bad(NULL_TEXT, "text is null")
    if not isinstance(text, str):
        return bad(NON_STRING_TEXT, f"text is {type(text).__name__}, not a string")
    text = values.clean_text(text)
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


_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_line(data: dict) -> str:
    """One JSON line that every line splitter agrees on (U+0085/U+2028/U+2029 escaped: Python's
    str.splitlines and some editors break lines there)."""
    text = json.dumps(data, ensure_ascii=False)
    for char, escape in _LINE_BREAKS.items():
        text = text.replace(char, escape)
    return text + "\n"


class QuarantineWriter:
    """Quarantined rows as JSON lines (one file per run), with reason and a preview of the row."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.count = 0
        self.by_reason: dict[str, int] = {}
        self._handle = None

    SETTING = "run.quarantine_dir"

    def write(self, record: Quarantined) -> None:
        """One line, flushed at once: a run that dies keeps every line written so far."""
        self.count += 1
        self.by_reason[record.reason] = self.by_reason.get(record.reason, 0) + 1
        try:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # backslashreplace: a quarantine line must never fail on the value it reports
                self._handle = open(self.path, "w", encoding="utf-8", errors="backslashreplace")
            self._handle.write(_json_line(record.__dict__))
            self._handle.flush()
        except OSError as error:
            raise OutputError(f"cannot write the quarantine file {self.path} ({self.SETTING}): "
                              f"{error.strerror or error}") from None

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except OSError as error:
                raise OutputError(f"cannot write the quarantine file {self.path} ({self.SETTING}): "
                                  f"{error.strerror or error}") from None
