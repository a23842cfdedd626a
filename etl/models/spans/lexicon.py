"""Entity lexicon features for the span extractor: which passage tokens begin, continue or end a
known entity string, and of which type.

Why: the span model's encoder is small and pretrained on 3.2 M characters only; 70% of the CMeIE
dev entities are strings already seen as entities in the CMeIE train split or in CMeEE, and the
boundaries are where the model errs most (MODELS.md). The lexicon marks candidates; the model
decides (it sees the relation's question and the context, and a lexicon string is an entity in
only ~1 of 5 places it occurs).

Channels: one per CMeIE entity type (`ie:疾病`, ...) and per CMeEE type (`ee:dis`, ...), plus
`q:subject`, the occurrences of the subject a turn-2 question names ("<subject>的X有哪些？"), so the
small encoder need not find them by attention; per token and channel three flags, B (a match
starts here), I (inside) and E (ends here), so a token has 3 x (channels + 1) features (0/1).
Matching is Aho-Corasick (pyahocorasick) over the raw text; strings
shorter than MIN_CHARS are left out (single characters match everywhere).

Training honesty: a training text's own entities are always in a lexicon built from the training
data, so the flags would be perfect on training texts and only ~70% complete on new text, and the
model would trust them too much. Each source text therefore gets one of FOLDS folds (a CMeEE
sentence that shares a 20-character stretch with a CMeIE train text gets that text's fold, as the
two corpora repeat sentences), every entry remembers the folds it came from, and a training text
of fold f only sees entries that some other fold also gave. Dev and run time use every entry.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from etl.data.cmeee import CMEEE_TYPES, NerSample
from etl.data.cmeie import Sample
from etl.data.overlap import shingles
from etl.errors import DataError
from etl.models.tokens import TokenLocator

MIN_CHARS = 2
MAX_CHARS = 40
FOLDS = 5
FLAGS = ("B", "I", "E")
ALL_FOLDS = (1 << FOLDS) - 1
HEADER = "#channels"
SUBJECT_CHANNEL = "q:subject"  # always the last channel; not a lexicon entry


def channel_names(entity_types: Iterable[str]) -> list[str]:
    """The feature channels: CMeIE types (schema order), then the CMeEE types."""
    return [f"ie:{t}" for t in entity_types] + [f"ee:{code}" for code in CMEEE_TYPES]


class Lexicon:
    """Entity strings -> {channel index: bitmask of the folds that gave it}."""

    def __init__(self, channels: Sequence[str], entries: dict[str, dict[int, int]]):
        import ahocorasick

        self.channels = list(channels)
        self.entries = entries
        self._automaton = ahocorasick.Automaton()
        for string, found in entries.items():
            self._automaton.add_word(string, (len(string), tuple(found.items())))
        if entries:
            self._automaton.make_automaton()

    @property
    def features(self) -> int:
        return len(FLAGS) * (len(self.channels) + 1)

    def __len__(self) -> int:
        return len(self.entries)

    # ----------------------------------------------------------------- build / save / load
    @classmethod
    def build(cls, entity_types: Sequence[str], cmeie: Sequence[Sample] = (),
              cmeee: Sequence[NerSample] = ()) -> tuple["Lexicon", list[int], list[int]]:
        """The lexicon of the CMeIE triples' subjects/objects and the CMeEE entities, with the fold
        of every CMeIE and CMeEE sample (in the order given) for `flags(..., fold=)`."""
        channels = channel_names(entity_types)
        index = {name: i for i, name in enumerate(channels)}
        cmeie_folds = [i % FOLDS for i in range(len(cmeie))]
        by_shingle = {piece: fold for sample, fold in zip(cmeie, cmeie_folds) for piece in shingles(sample.text)}
        cmeee_folds = []
        for i, sample in enumerate(cmeee):
            shared = next((by_shingle[p] for p in shingles(sample.text) if p in by_shingle), None)
            cmeee_folds.append(i % FOLDS if shared is None else shared)

        entries: dict[str, dict[int, int]] = {}

        def add(string: str, channel: str, fold: int) -> None:
            string = string.strip()
            if MIN_CHARS <= len(string) <= MAX_CHARS and channel in index and not {"\t", "\n"} & set(string):
                found = entries.setdefault(string, {})
                found[index[channel]] = found.get(index[channel], 0) | (1 << fold)

        for sample, fold in zip(cmeie, cmeie_folds):
            for t in sample.triples:
                add(t.subject, f"ie:{t.subject_type}", fold)
                add(t.object, f"ie:{t.object_type}", fold)
        for sample, fold in zip(cmeee, cmeee_folds):
            for entity in sample.entities:
                add(entity.text, f"ee:{entity.type}", fold)
        return cls(channels, entries), cmeie_folds, cmeee_folds

    def save(self, path: str | Path) -> None:
        """`lexicon.tsv`: a header naming the channels, then `string<TAB>channel,channel` lines
        (folds are a training matter and are not kept)."""
        lines = [HEADER + "\t" + "\t".join(self.channels)]
        lines += [f"{s}\t{','.join(self.channels[c] for c in sorted(found))}"
                  for s, found in sorted(self.entries.items())]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Lexicon":
        path = Path(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines or not lines[0].startswith(HEADER + "\t"):
            raise DataError(f"{path}: not a lexicon file (first line must be {HEADER!r} + channels)")
        channels = lines[0].split("\t")[1:]
        index = {name: i for i, name in enumerate(channels)}
        entries = {}
        for number, line in enumerate(lines[1:], 2):
            string, _, names = line.partition("\t")
            if not string or any(n not in index for n in names.split(",")):
                raise DataError(f"{path}:{number}: bad lexicon line {line!r}")
            entries[string] = {index[n]: ALL_FOLDS for n in names.split(",")}
        return cls(channels, entries)

    # ----------------------------------------------------------------- features
    def flags(self, text: str, offsets: Sequence[tuple[int, int]], fold: int | None = None) -> np.ndarray:
        """uint8 [tokens, 3 x (channels + 1)]: B/I/E per channel for the tokens with these character
        offsets (q:subject left zero). `fold`: a training text's fold (entries only its own fold
        gave are ignored)."""
        result = np.zeros((len(offsets), self.features), np.uint8)
        if not self.entries or not offsets:
            return result
        place = _Placer(offsets)
        hidden = 0 if fold is None else (1 << fold)
        for last_char, (length, found) in self._automaton.iter(text):
            channels = [c for c, folds in found if folds & ~hidden]
            if channels:
                place(result, last_char + 1 - length, last_char + 1, channels)
        return result

    def with_subject(self, flags: np.ndarray, text: str, offsets: Sequence[tuple[int, int]],
                     subject: str) -> np.ndarray:
        """A copy of a passage's `flags` with every occurrence of `subject` on the q:subject channel."""
        flags = flags.copy()
        place, start = _Placer(offsets[:len(flags)]), text.find(subject) if subject else -1
        while start >= 0:
            place(flags, start, start + len(subject), [len(self.channels)])
            start = text.find(subject, start + 1)
        return flags


class _Placer:
    """Sets B/I/E flags for character ranges on the tokens with the given offsets."""

    def __init__(self, offsets: Sequence[tuple[int, int]]):
        self.locate = TokenLocator(offsets).tokens

    def __call__(self, result: np.ndarray, start: int, end: int, channels: Sequence[int]) -> None:
        tokens = self.locate(start, end)
        if tokens is None:
            return
        first, last = tokens
        for c in channels:
            result[first, 3 * c] = 1
            result[first + 1:last, 3 * c + 1] = 1
            result[last, 3 * c + 2] = 1


__all__ = ["Lexicon", "channel_names", "FOLDS", "MIN_CHARS", "MAX_CHARS", "SUBJECT_CHANNEL"]
