"""Opening the project's text inputs (JSONL and line files) the one way every reader does."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator, TextIO, TypeVar

from etl.errors import DataError


def open_text(path: str | Path) -> TextIO:
    """A UTF-8 text file for reading: a leading BOM is skipped (files saved by Windows editors),
    newlines are universal (CRLF tolerated); a file that cannot be opened is a DataError naming it."""
    try:
        return open(path, encoding="utf-8-sig")
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None


T = TypeVar("T")
BAD_ROW = (ValueError, KeyError, TypeError, AttributeError)  # what a parser raises for a malformed row


def read_jsonl(path: str | Path, parse: Callable[[dict, int], T], what: str) -> Iterator[T]:
    """`parse(row, line number)` of every non-blank line of a JSONL file; a line that is no JSON or
    that `parse` rejects (BAD_ROW) is a DataError naming the file, the line and `what` it is not."""
    path = Path(path)
    with open_text(path) as handle:
        try:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    item = parse(json.loads(line), number)
                except BAD_ROW as error:
                    raise DataError(f"{path}:{number}: not {what} ({error})") from None
                yield item
        except UnicodeDecodeError as error:
            raise DataError(f"{path}: not UTF-8 ({error})") from None


def write_jsonl(rows: list[dict], output: str | Path | None) -> None:
    """Rows as JSON lines (UTF-8, not ASCII-escaped) to `output`, or to standard output if None:
    what the `etl predict` commands write."""
    import sys

    handle = open(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if output:
            handle.close()
