"""Entity names: the normalised form is the node key; the text as written is kept as a surface form.

Normalisation is deliberately light so a name typed into a query (or pasted into Neo4j Browser)
still matches: Unicode NFKC (full-width Latin letters, digits and punctuation become their ASCII
forms, compatibility characters fold) and whitespace trimmed and collapsed. No case folding and no
punctuation stripping: in clinical text "IgA" vs "iga" or a trailing "+" can carry meaning.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalize_name(text: str) -> str:
    """The node key for an entity name; empty if nothing but whitespace is left."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


# Index keys must stay small: FalkorDB 4.16 indexes only ~4 KB of a string (longer keys make MERGE
# create duplicates, and its unique constraint crashes the server on them, measured) and Neo4j's
# range indexes refuse values over ~8 KB. Real entity names are far shorter; anything longer than
# this is cut and suffixed with a hash of the whole name, which is kept in `full_name`.
MAX_KEY_BYTES = 400


def name_key(name: str) -> str:
    """The `name` property of an entity node: the normalised name itself unless it is huge."""
    data = name.encode("utf-8")
    if len(data) <= MAX_KEY_BYTES:
        return name
    digest = hashlib.sha1(data).hexdigest()
    head = data[:MAX_KEY_BYTES - 60].decode("utf-8", errors="ignore")
    return f"{head}…#{digest}"
