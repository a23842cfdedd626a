"""Keep held-out (dev) text out of anything a model learns from.

CMeIE, CMeEE and the pretraining corpus come from the same medical sources, so the same sentence
can appear in several of them (136 CMeEE train sentences overlap 92 of the 500 CMeIE dev texts).
A text that shares a `run`-character stretch with a dev text counts as the same text and is
dropped, so the dev figures never measure memorised sentences.
"""
from __future__ import annotations

from typing import Iterable, Iterator

SHINGLE = 20  # characters: a shared run this long counts as the same text


def shingles(text: str, run: int = SHINGLE) -> Iterator[str]:
    """Every `run`-character stretch of `text` (the whole text when it is shorter)."""
    return (text[i:i + run] for i in range(max(len(text) - run + 1, 1)))


class OverlapFilter:
    """`overlaps(text)`: does `text` share a `run`-character stretch with any of the given texts?

    With `contained=True`, a text shorter than `run` also counts when it occurs inside one of
    them (the pretraining corpus splits text into sentences, many shorter than a run).
    """

    def __init__(self, texts: Iterable[str], run: int = SHINGLE, contained: bool = False):
        texts = list(texts)
        self.run = run
        self.seen = {piece for text in texts for piece in shingles(text, run)}
        self.joined = "\n".join(texts) if contained else None

    def overlaps(self, text: str) -> bool:
        if any(piece in self.seen for piece in shingles(text, self.run)):
            return True
        return self.joined is not None and len(text) < self.run and text in self.joined
