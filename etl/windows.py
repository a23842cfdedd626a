"""Cut long notes into model-sized windows that keep character offsets into the document.

Windows are sentence-aware: the text is split after sentence terminators (。！？；!?; and line
breaks), sentences are packed greedily up to `max_chars`, and each next window re-starts with the
trailing sentences of the previous one that fit in `overlap_chars`, so a relation whose subject and
object sit in neighbouring sentences is seen whole in at least one window. A single sentence
longer than `max_chars` is cut hard, with the same overlap. Every window satisfies
`document[window.start:window.end] == window.text`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"[。！？；!?;\n]+")


@dataclass(frozen=True)
class Window:
    start: int
    end: int  # exclusive
    text: str


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, terminators included, covering the whole text."""
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        bounds.append((start, match.end()))
        start = match.end()
    if start < len(text):
        bounds.append((start, len(text)))
    return bounds


def _hard_cut(start: int, end: int, max_chars: int, overlap: int) -> list[tuple[int, int]]:
    pieces, step = [], max_chars - overlap
    while True:
        pieces.append((start, min(start + max_chars, end)))
        if start + max_chars >= end:
            return pieces
        start += step


def make_windows(text: str, max_chars: int, overlap_chars: int) -> list[Window]:
    if not 0 <= overlap_chars < max_chars:
        raise ValueError("overlap_chars must be >= 0 and < max_chars")
    if not text:
        return []
    if len(text) <= max_chars:
        return [Window(0, len(text), text)]
    # Sentences longer than a window are pre-cut so every unit fits.
    units = []
    for start, end in sentence_bounds(text):
        units.extend(_hard_cut(start, end, max_chars, overlap_chars) if end - start > max_chars else [(start, end)])
    spans, first = [], 0
    while first < len(units):
        last = first
        while last + 1 < len(units) and units[last + 1][1] - units[first][0] <= max_chars:
            last += 1
        spans.append((units[first][0], units[last][1]))
        if last == len(units) - 1:
            break
        # Next window: the trailing units of this one that fit in the overlap, but always progress.
        following = last + 1
        while following - 1 > first and units[last][1] - units[following - 1][0] <= overlap_chars:
            following -= 1
        first = following
    return [Window(start, end, text[start:end]) for start, end in spans]
