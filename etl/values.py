"""The one place that decides what a string may look like before it reaches a graph store (or the
triples Parquet file, or a quarantine line): ids, metadata, entity names, sentences.

Why: FalkorDB 4.16.3 (measured, ../shared/notes/STACK.md) segfaults when a unique key contains
U+0001 or starts/ends with ASCII whitespace, fails to parse any statement with a NUL in a string
parameter, and makes duplicates of keys over ~4 KB; the Python clients refuse lone surrogates;
Parquet strings must be valid UTF-8. One row like that used to kill the batch, every night. The
rules below are applied the same way whatever the store, so both stores hold the same values.

+----------------------------+-------------------+---------------------------------------+-----------------------------+
| value                      | id (a unique key) | text, sentence, metadata              | entity name (a unique key)  |
+============================+===================+=======================================+=============================+
| bytes that are not UTF-8   | quarantine        | text: quarantine `undecodable_text`;  | (comes from text)           |
|                            | `undecodable_id`  | metadata: U+FFFD per bad byte         |                             |
+----------------------------+-------------------+---------------------------------------+-----------------------------+
| lone surrogate             | quarantine        | replaced by U+FFFD, one for one       | removed                     |
| (U+D800-U+DFFF)            | `invalid_id`      |                                       |                             |
+----------------------------+-------------------+---------------------------------------+-----------------------------+
| NUL and other control      | quarantine        | replaced by a space, one for one      | treated as whitespace       |
| characters (C0, DEL, C1)   | `invalid_id`      | (tab, newline, CR kept)               |                             |
+----------------------------+-------------------+---------------------------------------+-----------------------------+
| leading/trailing           | stripped          | kept (offsets point into the text)    | stripped, inner runs -> one |
| whitespace                 |                   |                                       | space                       |
+----------------------------+-------------------+---------------------------------------+-----------------------------+
| whitespace only / empty    | quarantine        | text: quarantine `empty_text`         | evidence dropped            |
|                            | `missing_id`      |                                       |                             |
+----------------------------+-------------------+---------------------------------------+-----------------------------+
| invisible format           | kept              | kept                                  | removed (else one name,     |
| characters (zero-width,    |                   |                                       | several keys)               |
| bidi controls; Unicode Cf) |                   |                                       |                             |
+----------------------------+-------------------+---------------------------------------+-----------------------------+
| full-width / compatibility | kept              | kept                                  | NFKC-folded                 |
| forms                      |                   |                                       |                             |
+----------------------------+-------------------+---------------------------------------+-----------------------------+
| longer than 400 UTF-8      | quarantine        | kept (text over input.max_text_chars: | cut + hash, whole name in   |
| bytes                      | `id_too_long`     | `text_too_long`)                      | `full_name`                 |
+----------------------------+-------------------+---------------------------------------+-----------------------------+

"One for one" keeps every character offset into a note valid: evidence offsets slice the cleaned
text exactly as they would have sliced the original.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_KEY_BYTES = 400  # longest id / name key in UTF-8 bytes (FalkorDB: ~4 KB; Neo4j ~8 KB)

# Quarantine reasons for ids (stable strings: counted in the run report).
MISSING_ID = "missing_id"
INVALID_ID = "invalid_id"
UNDECODABLE_ID = "undecodable_id"
ID_TOO_LONG = "id_too_long"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # Cc minus tab, LF, CR
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
_PREVIEW_CHARS = 120


class InvalidId(ValueError):
    """An id that must not become a key; `reason` is one of the quarantine reasons above."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def clean_text(text: str) -> str:
    """Free text (notes, sentences, surface forms, metadata, paths) made safe for every store,
    one character for one: control characters other than tab/LF/CR -> space, lone surrogates ->
    U+FFFD. Idempotent."""
    if _CONTROL.search(text):
        text = _CONTROL.sub(" ", text)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


def decode(value: bytes) -> str:
    """Bytes that should be UTF-8 text; UnicodeDecodeError when they are not."""
    return value.decode("utf-8")


def clean_value(value):
    """A metadata value or graph property: strings cleaned, bytes decoded (U+FFFD for bad bytes),
    lists item by item; other scalars unchanged."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return clean_text(bytes(value).decode("utf-8", errors="replace"))
    if isinstance(value, (list, tuple)):
        return [clean_value(v) for v in value]
    return value


def check_id(raw) -> str:
    """A document id as it will be stored, or InvalidId with the reason (the row is quarantined).

    Integers and other scalars become their text; bytes must be UTF-8; surrounding whitespace is
    stripped; control characters, lone surrogates and ids over MAX_KEY_BYTES are refused."""
    if raw is None:
        raise InvalidId(MISSING_ID, "the id column is null")
    if isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            raw = decode(bytes(raw))
        except UnicodeDecodeError as error:
            raise InvalidId(UNDECODABLE_ID, f"the id is not UTF-8 ({error.reason} at byte {error.start})") from None
    text = raw if isinstance(raw, str) else str(raw)
    text = text.strip()
    if not text:
        raise InvalidId(MISSING_ID, "the id column is empty or whitespace")
    bad = _ANY_CONTROL.search(text) or _SURROGATE.search(text)
    if bad:
        raise InvalidId(INVALID_ID, f"the id contains {describe_char(bad.group())} at position {bad.start()}")
    size = len(text.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise InvalidId(ID_TOO_LONG, f"the id is {size} bytes (> {MAX_KEY_BYTES}, the longest key the stores index)")
    return text


def id_preview(raw) -> str | None:
    """A short, printable, store-safe form of a refused id (for quarantine lines and messages)."""
    if raw is None:
        return None
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw).decode("utf-8", errors="backslashreplace")
    text = raw if isinstance(raw, str) else str(raw)
    text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    text = _ANY_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + f"... ({len(text)} characters)"


def describe_char(char: str) -> str:
    name = unicodedata.name(char, "") if not _SURROGATE.match(char) else "lone surrogate"
    return f"U+{ord(char):04X}" + (f" ({name.lower()})" if name else " (control character)")


def normalize_name(text: str) -> str:
    """The key of an entity name: cleaned, NFKC-folded, invisible format characters removed,
    whitespace (control characters included) trimmed and collapsed; empty if nothing is left.

    Deliberately light otherwise, so a name typed into a query still matches: no case folding and
    no punctuation stripping ("IgA" vs "iga" or a trailing "+" can carry meaning)."""
    text = _SURROGATE.sub("", text)
    for _ in range(4):  # removing a format character can let NFKC compose again: until stable
        folded = unicodedata.normalize("NFKC", "".join(ch for ch in text if unicodedata.category(ch) != "Cf"))
        folded = _SPACES.sub(" ", _ANY_CONTROL.sub(" ", folded)).strip()
        if folded == text:
            break
        text = folded
    return text


def name_key(name: str) -> str:
    """The `name` property of an entity node: the normalised name itself unless it is over
    MAX_KEY_BYTES, then cut and suffixed with a hash of the whole name (kept in `full_name`)."""
    data = name.encode("utf-8")
    if len(data) <= MAX_KEY_BYTES:
        return name
    digest = hashlib.sha1(data).hexdigest()
    head = data[:MAX_KEY_BYTES - 60].decode("utf-8", errors="ignore")
    return f"{head}…#{digest}"
