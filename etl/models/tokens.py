"""Tokenisation, character <-> token offsets and length buckets shared by the models.

Inputs are padded to one of a few fixed lengths (`buckets`) so a compiled model sees a handful of
shapes and never retraces. Text longer than the largest bucket is truncated here; the pipeline
cuts long notes into windows before they reach a model, so truncation only hits oversize windows.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

Span = tuple[int, int]  # character offsets, end exclusive


def load_tokenizer(vocab_path: str | Path):
    """bert4keras WordPiece tokenizer, lower-casing as Google's Chinese models do.

    Cached per file *version* (path, size, mtime): a vocab rewritten in the same process (a model
    folder retrained in place) gets a fresh tokenizer, not a stale one."""
    stat = Path(vocab_path).stat()
    return _tokenizer(str(Path(vocab_path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _tokenizer(vocab_path: str, size: int, mtime_ns: int):
    import etl.compat  # noqa: F401  (environment first)
    from bert4keras.tokenizers import Tokenizer

    return Tokenizer(vocab_path, do_lower_case=True)


def bucket_length(length: int, buckets: Sequence[int]) -> int:
    """Smallest bucket that holds `length` tokens (the largest bucket if none does)."""
    for bucket in buckets:
        if length <= bucket:
            return bucket
    return buckets[-1]


def pad_to(rows: Sequence[Sequence[int]], length: int, value: int = 0) -> np.ndarray:
    """Right-pad (or cut) integer rows into one [len(rows), length] int32 array."""
    out = np.full((len(rows), length), value, dtype=np.int32)
    for i, row in enumerate(rows):
        row = row[:length]
        out[i, : len(row)] = row
    return out


def batch_rows(count: int, batch_size: int) -> int:
    """Rows to pad a partial batch of `count` items to: the next power of two, at most
    max(batch_size, count), so a compiled function meets a few batch shapes, not every count
    (the span extractor's questions, the assertion classifier's mentions)."""
    rows = 1
    while rows < count:
        rows *= 2
    return min(rows, max(batch_size, count))


def group_by_bucket(lengths: Sequence[int], buckets: Sequence[int], batch_size: int) -> list[tuple[int, list[int]]]:
    """Indices grouped into batches of one bucket each: [(bucket, [i, ...]), ...].

    Items keep their input order inside a bucket; callers scatter results back by index.
    """
    by_bucket: dict[int, list[int]] = {}
    for index, length in enumerate(lengths):
        by_bucket.setdefault(bucket_length(length, buckets), []).append(index)
    batches = []
    for bucket in sorted(by_bucket):
        indices = by_bucket[bucket]
        for start in range(0, len(indices), batch_size):
            batches.append((bucket, indices[start:start + batch_size]))
    return batches


def shuffled_batches(lengths: Sequence[int], buckets: Sequence[int], batch_size: int,
                     rng) -> list[tuple[int, list[int]]]:
    """One epoch of training batches: items shuffled, grouped by bucket, batch order shuffled.

    `rng` is a numpy Generator; the same seed gives the same epochs."""
    order = rng.permutation(len(lengths))
    grouped = group_by_bucket([lengths[i] for i in order], buckets, batch_size)
    batches = [(bucket, [int(order[i]) for i in rows]) for bucket, rows in grouped]
    rng.shuffle(batches)
    return batches


SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def trim_vocab(vocab_path: str | Path, texts: Sequence[str], out_path: str | Path) -> list[int]:
    """Write the vocab entries `texts` use (plus the special tokens), in the original order, and
    return their ids in the full vocab (bert4keras `keep_tokens`, to slice a checkpoint).

    A from-scratch encoder never trains the embedding of a token it does not see, so the other
    ~15k rows of the Chinese BERT vocab would be dead weight; at run time unseen characters
    become [UNK]. WordPiece picks the same pieces from the subset (greedy longest match), so
    training texts tokenize identically. The result is still a valid BERT vocab ([PAD] first).
    """
    from etl.errors import ConfigError

    tokenizer = load_tokenizer(vocab_path)
    used = set(SPECIAL_TOKENS)
    for text in texts:
        used.update(tokenizer.tokenize(text))
    lines = Path(vocab_path).read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != "[PAD]" or any(t not in lines for t in SPECIAL_TOKENS):
        raise ConfigError(f"{vocab_path}: a BERT vocab must start with [PAD] and hold {SPECIAL_TOKENS}")
    keep = [i for i, token in enumerate(lines) if token in used]
    Path(out_path).write_text("\n".join(lines[i] for i in keep) + "\n", encoding="utf-8")
    return keep


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
