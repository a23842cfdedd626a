"""Pointer bookkeeping for the span extractor, in plain NumPy (no TensorFlow).

- `token_offsets`: WordPiece tokens of a passage and each token's character range in the ORIGINAL
  text (bert4keras `rematch`, plus a fill-in for `[UNK]` tokens, which rematch leaves unmapped).
- `char_spans_to_tokens`: gold character spans -> (first token, last token) for the labels.
- `decode_pointers`: start/end probabilities -> character spans with a confidence; spans never
  contain a sentence terminator, a comma or a list separator (`SPAN_BARRIERS`).

Offsets are Python slice offsets (end exclusive), so `text[start:end]` is exactly the span, with
any inner spaces, full-width punctuation, Latin words and digits as they were written.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

Span = tuple[int, int]

# Characters answers (almost) never contain. Of the 17,798 CMeIE subject/object strings: 0 hold
# 。！？;, 3 hold ；, 25 hold ，or ",", 98 hold 、 (lists are annotated item by item), 0 hold the
# markup characters @#*【】|–—. Without the rule, spans on clinical notes run across sentences and
# lists; on the CMeIE dev split every predicted span holding ，or 、 was wrong (MODELS.md).
SPAN_BARRIERS = "。！？；!?;，,、@#*【】|–—"


def barrier_token_ids(tokenizer) -> np.ndarray:
    """Vocabulary ids of the SPAN_BARRIERS characters (those the vocab holds)."""
    unk = tokenizer.token_to_id("[UNK]")
    return np.array(sorted({i for i in (tokenizer.token_to_id(c) for c in SPAN_BARRIERS) if i != unk}),
                    dtype=np.int64)


@dataclass(frozen=True)
class PointerSpan:
    start: int  # character offset in the text
    end: int  # exclusive
    score: float  # start probability x end probability
    token_start: int  # passage token indices (inclusive), for span metrics
    token_end: int


def token_offsets(tokenizer, text: str) -> tuple[list[str], list[Span]]:
    """Passage tokens (no [CLS]/[SEP]) and their (start, end) character offsets in `text`.

    rematch maps every ordinary token to the original characters it came from (it undoes the
    lower-casing and accent stripping). `[UNK]` tokens get the characters between their mapped
    neighbours, whitespace trimmed, so a span may still start or end on one.
    """
    tokens = tokenizer.tokenize(text)[1:-1]
    mapping = tokenizer.rematch(text, tokens)
    offsets: list[Span | None] = [(m[0], m[-1] + 1) if m else None for m in mapping]
    for i, offset in enumerate(offsets):
        if offset is not None:
            continue
        left = offsets[i - 1][1] if i > 0 and offsets[i - 1] else 0
        right = next((o[0] for o in offsets[i + 1:] if o is not None), len(text))
        while left < right and text[left].isspace():
            left += 1
        while right > left and text[right - 1].isspace():
            right -= 1
        offsets[i] = (left, max(right, left))
    return tokens, offsets  # type: ignore[return-value]


class TokenLocator:
    """The tokens covering character ranges, for one passage's token offsets (arrays built once)."""

    def __init__(self, offsets: Sequence[Span]):
        self.starts = np.fromiter((o[0] for o in offsets), np.int64, len(offsets))
        self.ends = np.fromiter((o[1] for o in offsets), np.int64, len(offsets))

    def tokens(self, start: int, end: int) -> Span | None:
        """(first, last) token of the characters [start, end), None when no kept token covers them.
        A boundary inside a token (a string cut mid-WordPiece) snaps to the enclosing token."""
        first = int(np.searchsorted(self.ends, start, side="right"))  # first token ending after start
        last = int(np.searchsorted(self.starts, end, side="left")) - 1  # last token starting before end
        return None if first >= len(self.starts) or last < first else (first, last)


def char_spans_to_tokens(offsets: Sequence[Span], spans: Sequence[Span]) -> tuple[list[Span], int]:
    """Token (first, last) pairs for character spans; spans past the kept tokens are dropped.
    Returns the token spans and how many character spans could not be placed."""
    locate = TokenLocator(offsets).tokens
    placed = [locate(start, end) for start, end in spans]
    return [p for p in placed if p is not None], sum(p is None for p in placed)


def decode_pointers(
    start_probs: np.ndarray,
    end_probs: np.ndarray,
    offsets: Sequence[Span],
    start_threshold: float = 0.5,
    end_threshold: float = 0.5,
    max_span_len: int = 40,
    barriers: np.ndarray | None = None,
) -> list[PointerSpan]:
    """Spans from per-token probabilities over the passage tokens (index i <-> offsets[i]).

    Rule: every token whose start probability passes `start_threshold` opens a span that closes at
    the nearest token at or after it (within `max_span_len` tokens) whose end probability passes
    `end_threshold`. Spans thus never cross; two starts may share one end, which yields nested
    spans (急性胰腺炎 / 胰腺炎) — kept, since CMeIE answers do nest (~1% of gold spans). A start with
    no end in reach yields nothing. Sorted by position.
    `barriers` (bool per passage token, e.g. `SPAN_BARRIERS`): no span may contain one.
    """
    n = len(offsets)
    start_probs, end_probs = np.asarray(start_probs)[:n], np.asarray(end_probs)[:n]
    # walls[k] = barrier tokens before index k, so tokens i..j hold one when walls[j+1] > walls[i]
    walls = None
    if barriers is not None:
        walls = np.concatenate([[0], np.cumsum(np.asarray(barriers)[:n], dtype=np.int64)])
    end_candidates = np.flatnonzero(end_probs >= end_threshold)
    spans = []
    for i in np.flatnonzero(start_probs >= start_threshold):
        k = int(np.searchsorted(end_candidates, i, side="left"))
        if k == len(end_candidates):
            break  # ends are sorted: no later start can close either
        j = int(end_candidates[k])
        if j - i + 1 > max_span_len or (walls is not None and walls[j + 1] > walls[i]):
            continue
        start, end = offsets[i][0], offsets[j][1]
        if end <= start:
            continue
        spans.append(PointerSpan(start, end, float(start_probs[i] * end_probs[j]), int(i), j))
    return spans
