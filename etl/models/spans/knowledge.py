"""Which diseases the training annotations give a finding to: the knowledge behind a note's
attribution of findings among its diagnoses (etl/notes/attribution.py, `known_subjects`).

Why: a note admitted for several diseases (`以“冠心病、肺部感染”收入`) tells one history, and its
annotators give each finding to the disease it belongs to (`咳痰` to 肺部感染, `心累` to 冠心病, `反酸`
to 胃炎). The models, reading `<main condition>@<window>`, give most findings to the main condition:
on EMR-RE dev the wrong subject was a quarter of the wrong triples. What they lack is the medicine
the annotators knew, which the training triples hold: the subjects of each (predicate, object) of
the CMeIE train split and of the annotated notes (`etl train spans` writes them as `knowledge.tsv`).

A candidate disease's score for (predicate, object): over the known triples of that predicate
whose object equals it (weight 1) or holds it or lies in it (weight 1/2, two characters at least),
the similarity of the known subject to the candidate (1 when the candidate's name holds it, three
characters at least: `高血压病3级极高危组` holds `高血压病`; else the Jaccard of characters and
bigrams: `肺部感染` ~ `肺感染`, `慢支炎急性发作` ~ `慢性支气管炎急性发作`) times its count, at most
COUNT_CAP (a frequent pair says no more than a few). Objects are matched by substring because notes word a finding
freely (`剑突下疼痛` holds `疼痛`).
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from etl.errors import DataError

FILE = "knowledge.tsv"
HEADER = "#subject\tpredicate\tobject\tcount"
COUNT_CAP = 3
MIN_PART = 2  # an object held in another counts from two characters on
PART_WEIGHT = 0.5
HELD_CHARS = 3  # a known subject held in a candidate's name counts whole from three characters (胃炎 is in too many)


UNSAFE = re.compile(r"[\t\r\n]")  # a name with these would not read back line by line
COUNT = re.compile(r"[0-9]+")


def _clean(name: str) -> str:
    return name.replace("\ufeff", "").strip()  # a byte-order mark inside an annotated name


def _grams(name: str) -> frozenset[str]:
    return frozenset(name) | frozenset(name[i:i + 2] for i in range(len(name) - 1))


@lru_cache(maxsize=1 << 16)  # a note's candidates meet the same known subjects for each finding
def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the characters and character bigrams of two names."""
    ga, gb = _grams(a), _grams(b)
    return len(ga & gb) / max(1, len(ga | gb))


class FindingKnowledge:
    """(predicate, object) -> {subject: count} of annotated triples."""

    def __init__(self, counts: dict[tuple[str, str], dict[str, int]]):
        self.counts = counts
        self._objects: dict[str, list[str]] = defaultdict(list)  # predicate -> its known objects
        for predicate, obj in counts:
            self._objects[predicate].append(obj)
        self._related = lru_cache(maxsize=65536)(self._related_uncached)

    def __len__(self) -> int:
        return sum(len(subjects) for subjects in self.counts.values())

    @classmethod
    def build(cls, triples: Iterable[tuple[str, str, str]]) -> "FindingKnowledge":
        """From (subject, predicate, object) triples; blank names are left out."""
        counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
        for subject, predicate, obj in triples:
            subject, obj = _clean(subject), _clean(obj)
            if subject and obj and not UNSAFE.search(subject + obj + predicate):
                counts[(predicate, obj)][subject] += 1
        return cls({key: dict(found) for key, found in counts.items()})

    def save(self, path: str | Path) -> None:
        lines = [HEADER] + [f"{subject}\t{predicate}\t{obj}\t{count}"
                            for (predicate, obj), found in sorted(self.counts.items())
                            for subject, count in sorted(found.items())]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "FindingKnowledge":
        path = Path(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines or lines[0] != HEADER:
            raise DataError(f"{path}: not a knowledge file (first line must be {HEADER!r})")
        counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for number, line in enumerate(lines[1:], 2):
            parts = line.split("\t")
            if len(parts) != 4 or not all(parts[:3]) or not COUNT.fullmatch(parts[3]):
                raise DataError(f"{path}:{number}: bad knowledge line {line!r}")
            found = counts[(parts[1], parts[2])]
            found[parts[0]] = found.get(parts[0], 0) + int(parts[3])  # a line written twice adds up
        return cls(dict(counts))

    def _related_uncached(self, predicate: str, obj: str) -> tuple[tuple[str, float], ...]:
        """(known subject, weight x capped count) for the known objects equal to, holding or held in `obj`."""
        found: dict[str, float] = defaultdict(float)
        for known in self._objects.get(predicate, ()):
            if known == obj:
                weight = 1.0
            elif (len(known) >= MIN_PART and known in obj) or (len(obj) >= MIN_PART and obj in known):
                weight = PART_WEIGHT
            else:
                continue
            for subject, count in self.counts[(predicate, known)].items():
                found[subject] += weight * min(count, COUNT_CAP)
        return tuple(found.items())

    def score(self, disease: str, predicate: str, obj: str) -> float:
        """How strongly the annotations give (predicate, obj) to `disease` (0: nothing known)."""
        return sum(weight * (1.0 if len(subject) >= HELD_CHARS and subject in disease
                             else similarity(disease, subject))
                   for subject, weight in self._related(predicate, obj))
