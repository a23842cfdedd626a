"""Input rows for `etl predict ...`: JSONL objects with a "text" (CMeIE format works; other keys
such as `relations` or `spo_list` are kept), or, for a file not ending in .jsonl/.json, one text
per line."""
from __future__ import annotations

import json
from pathlib import Path

from etl.data.files import open_text
from etl.errors import DataError


def read_text_rows(path: Path) -> list[dict]:
    """Rows with a "text" string each; a clear error names the file and line of a bad one."""
    rows = []
    as_json = path.suffix.lower() in (".jsonl", ".json")
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if not as_json:
                rows.append({"text": line})
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row.get("text"), str):
                    raise TypeError("text must be a string")
            except (ValueError, TypeError, AttributeError) as error:
                raise DataError(f"{path}:{number}: expected a JSON object with a \"text\" string ({error})") from None
            rows.append(row)
    return rows
