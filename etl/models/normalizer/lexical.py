"""The lexical retriever: BM25 over character n-grams (bm25s), the normaliser's candidate source.

Chinese diagnosis strings share characters with their standard names far more than words
(`乙状结肠腺癌` -> `乙状结肠恶性肿瘤`), so a name is indexed as its characters and character
bigrams, lower-cased. Two indexes use it: the standard names themselves, and the aliases (CHIP-CDN
training texts and their parts, each standing for the names it was normalised to). The indexes are
rebuilt from the model folder's text files at load (a second or two), so the folder holds no
binary index a library upgrade could make unreadable.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

# Where a raw diagnosis string lists several diagnoses: punctuation, spaces, and the joining words
# that CHIP-CDN texts use between two diagnoses (`高血压伴冠心病`, `肺炎并胸腔积液`).
PART_BREAK = re.compile(r"[；;，,、。.\s/\\|+＋]+|(?<=.)(?:伴|并|及|合并)(?=.)")
MIN_PART_CHARS = 2


def grams(text: str) -> list[str]:
    """Characters and character bigrams of `text`, lower-cased (the retriever's tokens)."""
    text = text.lower()
    return list(text) + [text[i:i + 2] for i in range(len(text) - 1)]


def parts(text: str) -> list[str]:
    """The pieces of a string that lists several diagnoses (none when it is one piece)."""
    pieces = [p for p in PART_BREAK.split(text) if len(p) >= MIN_PART_CHARS]
    return pieces if len(pieces) > 1 else []


class LexicalIndex:
    """BM25 over character n-grams of a fixed list of strings."""

    def __init__(self, strings: Sequence[str]):
        import bm25s

        self.strings = list(strings)
        self._bm25 = bm25s.BM25()
        self._bm25.index([grams(s) for s in self.strings], show_progress=False)

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """[len(queries), k] indices into `strings` and their BM25 scores, best first (a query
        with no known token gets score 0 rows)."""
        k = min(k, len(self.strings))
        tokens = [grams(q) or ["\x00"] for q in queries]
        indices, scores = self._bm25.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return np.asarray(indices), np.asarray(scores, dtype=np.float32)
