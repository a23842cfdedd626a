"""Opening the project's text inputs (JSONL and line files) the one way every reader does."""
from __future__ import annotations

from pathlib import Path
from typing import TextIO

from etl.errors import DataError


def open_text(path: str | Path) -> TextIO:
    """A UTF-8 text file for reading: a leading BOM is skipped (files saved by Windows editors),
    newlines are universal (CRLF tolerated); a file that cannot be opened is a DataError naming it."""
    try:
        return open(path, encoding="utf-8-sig")
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
