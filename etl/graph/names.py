"""Entity names: the normalised form is the node key; the text as written is kept as a surface form.

The rules (NFKC, whitespace and invisible characters, over-long names cut and hashed) live with
every other rule for strings that reach a store, in etl/values.py; this module keeps the names
the graph code has always imported.
"""
from __future__ import annotations

from etl.values import MAX_KEY_BYTES, name_key, normalize_name

__all__ = ["MAX_KEY_BYTES", "name_key", "normalize_name"]
