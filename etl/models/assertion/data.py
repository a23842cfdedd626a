"""What the assertion model reads: a mention in its context, as tokens with per-token flags.

Context: the characters around the mention, cut at the sentence ends on either side (a negation
or hedge does not reach across 。), at most `left` characters before and `right` after. Short
contexts keep the model fast (most mentions fit the 64-token bucket) and lose nothing measurable:
the cue of a finding is in its own sentence.

Input rows: `[CLS] context [SEP]`, with
- segment id 1 on the mention's tokens (0 elsewhere): the model knows from its first step which
  finding it judges, even when the same word occurs twice in the context;
- token features [length, 1 + len(CUE_CHANNELS)]: channel 0 repeats the mention flag (into the
  zero-initialised feature projection, etl.models.encoder.with_token_features); with rule features
  on, the other channels flag the tokens of every cue the ConText rules find in the context, by
  category and by direction, and the cue that decided the rules' verdict on this mention, so
  the encoder learns when a cue's scope reaches the mention instead of re-learning cue words.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from etl.data.cdee import CdeeSample
from etl.records import ABSENT, ASSERTIONS, POSSIBLE, PRESENT
from etl.models.tokens import TokenLocator, group_by_bucket, token_offsets

LABELS = ASSERTIONS  # output order of the classifier: present, absent, possible
LEFT_CHARS, RIGHT_CHARS = 64, 32
SENTENCE_ENDS = "。！!\n"
# Cue feature channels (after the mention flag): a cue sets its category's channel and its
# direction's (both: forward and backward); `decisive` marks the cue that decided the rules' verdict.
CUE_CHANNELS = ("negated", "possible", "family", "historical", "terminate", "forward", "backward", "decisive")


@dataclass(frozen=True)
class Mention:
    text: str  # the whole text the mention is in (note, window or CDEE sentence)
    start: int  # character offsets of the finding in `text`, end exclusive
    end: int


@dataclass(frozen=True)
class LabelledMention:
    mention: Mention
    label: str  # PRESENT | ABSENT | POSSIBLE


def mention_context(text: str, start: int, end: int, left: int = LEFT_CHARS,
                    right: int = RIGHT_CHARS) -> tuple[str, int, int]:
    """(context, start, end): the mention's sentence(s) around it, clipped to left/right characters,
    and the mention's offsets inside the context."""
    lo = max(0, start - left)
    cut = max(text.rfind(c, lo, start) for c in SENTENCE_ENDS)
    if cut >= 0:
        lo = cut + 1
    hi = min(len(text), end + right)
    ends = [i for i in (text.find(c, end, hi) for c in SENTENCE_ENDS) if i >= 0]
    if ends:
        hi = min(ends) + 1  # keep the terminator: it tells the model the sentence ends there
    return text[lo:hi], start - lo, end - lo


# --------------------------------------------------------------------------- training examples
# Negation cues that the span model sometimes keeps inside an extracted finding (无咳嗽, 未见异常):
# training copies of such absent findings with the cue inside the mention teach the model that a
# mention starting with its own cue is absent too.
INSIDE_CUES = ("未见明显", "未闻及", "未触及", "未见", "否认", "没有", "不伴", "无明显", "无")


def cdee_examples(samples: Iterable[CdeeSample], augment: bool = False, seed: int = 0) -> list[LabelledMention]:
    """One example per placed finding (unplaced ones are counted by etl.data.cdee, not used);
    `augment` adds the cue-inside copies described above (training only)."""
    rng = random.Random(seed)
    out = []
    for sample in samples:
        for f in sample.findings:
            if not f.placed:
                continue
            out.append(LabelledMention(Mention(sample.text, f.start, f.end), f.status))
            if augment and f.status == ABSENT:
                for cue in INSIDE_CUES:
                    if sample.text.endswith(cue, 0, f.start):
                        if rng.random() < 0.5:
                            out.append(LabelledMention(Mention(sample.text, f.start - len(cue), f.end), ABSENT))
                        break
    return out


def label_ids(examples: Sequence[LabelledMention]) -> np.ndarray:
    return np.array([LABELS.index(e.label) for e in examples], dtype=np.int32)


# --------------------------------------------------------------------------- encoding
@dataclass(frozen=True)
class EncodedMention:
    token_ids: list[int]  # [CLS] context [SEP]
    mention: tuple[int, int]  # first and last row of the mention's tokens (inclusive)
    cues: np.ndarray  # uint8 [rows, cue channels] (0 channels without rule features)


class MentionEncoder:
    """Mentions -> token rows; `rules` (etl.models.assertion.rules.ContextRules) turns on the cue
    channels (CUE_CHANNELS)."""

    def __init__(self, tokenizer, max_length: int, rules=None, left: int = LEFT_CHARS, right: int = RIGHT_CHARS):
        self.tokenizer, self.max_length, self.rules = tokenizer, max_length, rules
        self.channels = CUE_CHANNELS if rules is not None else ()
        self.left, self.right = left, right
        self.cls, self.sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")

    @property
    def features(self) -> int:
        return 1 + len(self.channels)

    def _cue_rows(self, context: str, start: int, end: int) -> list[tuple[int, int, list[int]]]:
        """(start, end, channel indices) of every cue in the context, characters."""
        marks = self.rules.cue_marks(context)
        verdict = self.rules.assess_many(context, [(start, end)])[0] if end > start else None
        rows = []
        for mark in marks:
            names = [mark.category]
            if mark.direction in ("forward", "both"):
                names.append("forward")
            if mark.direction in ("backward", "both"):
                names.append("backward")
            if verdict is not None and verdict.cue_start == mark.start and verdict.cue_end == mark.end:
                names.append("decisive")
            rows.append((mark.start, mark.end, [self.channels.index(n) for n in names if n in self.channels]))
        return rows

    def encode(self, mention: Mention) -> EncodedMention:
        context, start, end = mention_context(mention.text, mention.start, mention.end, self.left, self.right)
        tokens, offsets = token_offsets(self.tokenizer, context)
        ids = self.tokenizer.tokens_to_ids(tokens)
        locator = TokenLocator(offsets)
        span = locator.tokens(start, end) if offsets else None
        if span is None:  # a mention of whitespace only: judge the context's first token
            span = (0, 0)
        keep = self.max_length - 2
        if len(ids) > keep:  # rare (a sentence over max_length): keep a window around the mention
            first = max(0, min(span[0] - keep // 2, len(ids) - keep))
            ids, offsets = ids[first:first + keep], offsets[first:first + keep]
            span = (max(span[0] - first, 0), min(span[1] - first, keep - 1))
            locator = TokenLocator(offsets)
        cues = np.zeros((len(ids) + 2, len(self.channels)), dtype=np.uint8)
        if self.channels and offsets:
            for cue_start, cue_end, channels in self._cue_rows(context, start, end):
                tokens_of = locator.tokens(cue_start, cue_end)
                if tokens_of is not None:
                    cues[tokens_of[0] + 1:tokens_of[1] + 2, channels] = 1
        return EncodedMention([self.cls] + ids + [self.sep], (span[0] + 1, span[1] + 1), cues)


def make_batch(items: Sequence[EncodedMention], length: int, rows: int | None = None,
               features: int = 1) -> list[np.ndarray]:
    """Model inputs for a fixed-shape batch: token ids, segment ids, token features."""
    rows = rows or len(items)
    ids = np.zeros((rows, length), dtype=np.int32)
    segments = np.zeros((rows, length), dtype=np.int32)
    flags = np.zeros((rows, length, features), dtype=np.float32)
    for r, item in enumerate(items):
        n = min(len(item.token_ids), length)
        ids[r, :n] = item.token_ids[:n]
        first, last = item.mention
        segments[r, first:last + 1] = 1
        flags[r, first:last + 1, 0] = 1.0
        if item.cues.shape[1]:
            flags[r, :n, 1:] = item.cues[:n]
    return [ids, segments, flags]


def batches(encoded: Sequence[EncodedMention], buckets: Sequence[int], batch_size: int
            ) -> list[tuple[int, list[int]]]:
    """Indices grouped by length bucket (input order kept inside a bucket)."""
    return group_by_bucket([len(e.token_ids) for e in encoded], buckets, batch_size)


__all__ = ["LABELS", "Mention", "LabelledMention", "mention_context", "cdee_examples", "label_ids",
           "EncodedMention", "MentionEncoder", "make_batch", "batches", "PRESENT", "ABSENT", "POSSIBLE"]
