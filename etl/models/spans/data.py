"""Training data for the span extractor: questions, their token encoding, fixed-shape batches.

Questions (`MrcExample`, from `etl.data.examples.mrc_examples`) are extended here with
- negatives: questions whose answer is empty, which the model meets at run time when the relation
  classifier proposes a wrong predicate (turn 1) or turn 1 proposes a wrong subject (turn 2);
- CMeEE entity questions ("找出文本中的疾病"), an optional extra signal for entity boundaries.

Encoding: `[CLS] query [SEP] passage [SEP]`, segment 0 for the query part and 1 for the passage.
Labels are [length, 2] (start, end) on passage tokens; `mask` is 1 on passage tokens only, so the
query, the separators and the padding carry no loss. With a lexicon (etl/models/spans/lexicon.py) every
passage token also gets its B/I/E entity flags (`lexicon` [length, features]; zero elsewhere).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from etl.data.cmeee import CMEEE_TYPES, NerSample
from etl.data.cmeie import Sample, Span
from etl.data.examples import MrcExample
from etl.models.spans.pointers import char_spans_to_tokens
from etl.models.tokens import token_offsets
from etl.models.tokens import group_by_bucket, pad_to

CMEEE_QUERY = "找出文本中的{noun}"


@dataclass(frozen=True)
class Encoded:
    token_ids: list[int]
    segment_ids: list[int]
    passage_start: int  # row index of the first passage token
    offsets: list[Span]  # character offsets of the passage tokens kept (after truncation)
    token_spans: list[Span]  # gold answers as passage-token (first, last) pairs
    dropped: int = 0  # gold spans lost to truncation
    lexicon: np.ndarray | None = None  # uint8 [passage tokens kept, features] (None: no lexicon)


class QuestionEncoder:
    """Encodes (query, text) pairs; passage tokenisation (and lexicon flags) are cached: many
    questions per text."""

    def __init__(self, tokenizer, max_length: int, lexicon=None):
        self.tokenizer, self.max_length, self.lexicon = tokenizer, max_length, lexicon
        self._passages: dict[tuple[str, int | None], tuple[list[int], list[Span], np.ndarray | None]] = {}
        self._queries: dict[str, list[int]] = {}

    def passage(self, text: str, fold: int | None = None) -> tuple[list[int], list[Span], np.ndarray | None]:
        """Token ids, character offsets and lexicon flags (None without a lexicon) of a passage;
        `fold`: a training text's lexicon fold (etl/models/spans/lexicon.py)."""
        cached = self._passages.get((text, fold))
        if cached is None:
            tokens, offsets = token_offsets(self.tokenizer, text)
            flags = self.lexicon.flags(text, offsets, fold) if self.lexicon is not None else None
            cached = (self.tokenizer.tokens_to_ids(tokens), offsets, flags)
            if len(self._passages) > 50_000:  # bound memory on long runs
                self._passages.clear()
            self._passages[(text, fold)] = cached
        return cached

    def query(self, query: str) -> list[int]:
        cached = self._queries.get(query)
        if cached is None:
            cached = self.tokenizer.encode(query)[0][1:-1]
            if len(self._queries) > 50_000:
                self._queries.clear()
            self._queries[query] = cached
        return cached

    def encode(self, query: str, text: str, spans: Sequence[Span] = (), fold: int | None = None,
               subject: str = "") -> Encoded:
        """`subject`: the entity a turn-2 query names; with a lexicon its occurrences are flagged."""
        cls, sep = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        query_ids = self.query(query)[: self.max_length // 2]  # a runaway subject must not eat the passage
        passage_ids, offsets, flags = self.passage(text, fold)
        room = self.max_length - len(query_ids) - 3
        passage_ids, offsets = passage_ids[:room], offsets[:room]
        if flags is not None:
            flags = flags[:room]
            if subject:
                flags = self.lexicon.with_subject(flags, text, offsets, subject)
        token_ids = [cls] + query_ids + [sep] + passage_ids + [sep]
        segment_ids = [0] * (len(query_ids) + 2) + [1] * (len(passage_ids) + 1)
        token_spans, dropped = char_spans_to_tokens(offsets, spans) if spans else ([], 0)
        return Encoded(token_ids, segment_ids, len(query_ids) + 2, offsets, token_spans, dropped, flags)


def make_batch(items: Sequence[Encoded], length: int, rows: int | None = None) -> dict[str, np.ndarray]:
    """Arrays for one bucket: ids/segments [rows, length], labels [rows, length, 2], mask [rows, length]
    and, when the items carry lexicon flags, lexicon [rows, length, features] (float32).

    `rows` pads the batch with copies of its first item whose mask is zero, so every batch of a
    bucket has the same shape (a compiled step never retraces) and the filler carries no loss.
    """
    rows = rows or len(items)
    filler = [items[0]] * (rows - len(items))
    all_items = list(items) + filler
    batch = {
        "token_ids": pad_to([e.token_ids for e in all_items], length),
        "segment_ids": pad_to([e.segment_ids for e in all_items], length),
        "labels": np.zeros((rows, length, 2), np.float32),
        "mask": np.zeros((rows, length), np.float32),
    }
    if items[0].lexicon is not None:
        batch["lexicon"] = np.zeros((rows, length, items[0].lexicon.shape[1]), np.float32)
    for row, item in enumerate(items):  # filler rows keep mask 0
        first, count = item.passage_start, min(len(item.offsets), length - item.passage_start)
        batch["mask"][row, first:first + count] = 1.0
        if item.lexicon is not None:
            batch["lexicon"][row, first:first + count] = item.lexicon[:count]
        for start, end in item.token_spans:
            if end < count:
                batch["labels"][row, first + start, 0] = 1.0
                batch["labels"][row, first + end, 1] = 1.0
    return batch


def model_inputs(batch: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The model's inputs from a batch, in order: token ids, segment ids[, lexicon flags]."""
    return [batch[k] for k in ("token_ids", "segment_ids", "lexicon") if k in batch]


def batches(encoded: Sequence[Encoded], buckets: Sequence[int], batch_size: int,
            rng: random.Random | None = None) -> list[tuple[list[int], dict[str, np.ndarray]]]:
    """Fixed-shape batches grouped by length bucket; shuffled (batch order) when `rng` is given."""
    lengths = [len(e.token_ids) for e in encoded]
    order = list(range(len(encoded)))
    if rng is not None:
        rng.shuffle(order)
    grouped = group_by_bucket([lengths[i] for i in order], buckets, batch_size)
    result = []
    for bucket, positions in grouped:
        indices = [order[p] for p in positions]
        result.append((indices, make_batch([encoded[i] for i in indices], bucket, batch_size)))
    if rng is not None:
        rng.shuffle(result)
    return result


# --------------------------------------------------------------------------- extra questions
def negative_examples(samples: Iterable[Sample], schema, per_text: float, seed: int) -> list[MrcExample]:
    """Empty-answer questions, about `per_text` of each kind per text (0 disables).

    - turn 1 with a predicate the text does not hold, drawn by training frequency (the classifier's
      likely confusions are frequent predicates);
    - turn 2 for a predicate the text holds, asked about an entity of the text that is not one of
      its subjects (what a wrong turn-1 answer would ask).
    """
    if per_text <= 0:
        return []
    samples = list(samples)
    rng = random.Random(seed)
    counts: dict[str, int] = {p: 1 for p in schema.predicates}
    for sample in samples:
        for t in sample.triples:
            if t.predicate in counts:
                counts[t.predicate] += 1
    names, weights = list(counts), [counts[p] for p in counts]
    examples = []

    def draws() -> int:  # per_text may be fractional: 0.5 = one question every other text
        whole = int(per_text)
        return whole + (rng.random() < per_text - whole)

    for sample in samples:
        held = {t.predicate for t in sample.triples}
        for _ in range(draws()):
            predicate = rng.choices(names, weights)[0]
            if predicate not in held:
                examples.append(MrcExample(schema.subject_query(predicate), sample.text, (), predicate, 1))
        subjects = {(t.predicate, t.subject) for t in sample.triples}
        entities = sorted({t.subject for t in sample.triples} | {t.object for t in sample.triples})
        for _ in range(draws()):
            if not held or not entities:
                break
            predicate = rng.choice(sorted(held & set(schema.predicates)) or [""])
            entity = rng.choice(entities)
            if predicate and (predicate, entity) not in subjects:
                examples.append(MrcExample(schema.object_query(predicate, entity), sample.text, (),
                                           predicate, 2, entity))
    return examples


def cmeee_examples(samples: Iterable[NerSample], negatives: bool = True) -> list[MrcExample]:
    """One entity question per (sentence, type present): all spans of that type are the answer.

    With `negatives`, each sentence also gets one question for a type it does not contain
    (chosen deterministically from the sentence), so "nothing" stays a possible answer.
    """
    codes = list(CMEEE_TYPES)
    examples = []
    for index, sample in enumerate(samples):
        by_type: dict[str, list[Span]] = {}
        for entity in sample.entities:
            by_type.setdefault(entity.type, []).append((entity.start, entity.end))
        for code, spans in by_type.items():
            query = CMEEE_QUERY.format(noun=CMEEE_TYPES[code][1])
            examples.append(MrcExample(query, sample.text, tuple(sorted(set(spans))), f"cmeee:{code}", 0))
        absent = [c for c in codes if c not in by_type]
        if negatives and absent:
            code = absent[index % len(absent)]
            query = CMEEE_QUERY.format(noun=CMEEE_TYPES[code][1])
            examples.append(MrcExample(query, sample.text, (), f"cmeee:{code}", 0))
    return examples



def drop_overlapping(samples: Iterable[NerSample], texts: Iterable[str], run: int = 20) -> list[NerSample]:
    """CMeEE sentences sharing no `run`-character stretch with any of `texts` (the dev split):
    both corpora come from the same medical sources (136 CMeEE train sentences overlap 92 of the
    500 CMeIE dev texts), and the dev figures must not have seen their own entities."""
    from etl.data.overlap import OverlapFilter

    dev = OverlapFilter(texts, run)
    return [s for s in samples if not dev.overlaps(s.text)]
