"""Annotated notes (EMR-RE) -> the window-level samples both models train on.

At run time the models read each window of a note as `<main condition>@<window>`
(etl/notes/conditions.py). Training reads annotated notes the same way: each note is cut with the
pipeline's own windows, each window becomes a CMeIE-format `Sample` whose text is that passage,
holding the note's triples that the passage can answer, so the CMeIE converters
(etl/data/examples.py: relation labels, turn-1 and turn-2 questions, negatives) apply unchanged.

- Main condition: the subject of most triples (`Note.main_condition`; ANNOTATION.md gives every
  triple of the main condition the admission/diagnosis name). The prefix is an occurrence of it.
- A triple belongs to a passage when its object occurs in the window and its subject occurs in
  the passage (the prefix counts for the main condition): all such occurrences are answers.
- Occurrences that are not the annotated finding are left out: one the ConText rules judge denied
  (`无腹痛` when the note's 腹痛 triple is elsewhere: denied findings are not annotated), and one
  inside a longer annotated string (`CT` inside `PET-CT`, `乙状结肠癌` inside `乙状结肠癌切除术`).
- Main-condition questions (`main_condition_examples`): each plain window, answered by the main
  condition's occurrences in it (none: an empty answer, which teaches where it is not).
- Entity questions (`entity_examples`): the notes' gold entities by type (CCKS 2019 / 2017 types),
  per window, as CMeEE's are: they teach the notes' entity boundaries and types.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from etl.notes.conditions import MAIN_CONDITION_QUERY, TOPIC_MARK
from etl.data.cmeie import Sample, Span, Triple, find_spans
from etl.data.emr_re import Note
from etl.data.examples import MrcExample
from etl.windows import Window, make_windows

ENTITY_QUERY = "找出文本中的{noun}"
MAIN_PREDICATE = "main_condition"


@dataclass(frozen=True)
class NotePassage:
    note: Note
    window: Window
    prefix: str  # `<main condition>@` or ""
    sample: Sample  # passage text + the triples it holds, with spans in the passage


class _Occurrences:
    """Where a string stands for the annotated finding in a note: its occurrences, less those
    denied by the rules and those inside a longer annotated string."""

    def __init__(self, note: Note, rules=None):
        self.note, self.rules = note, rules
        strings = {t.subject for t in note.triples} | {t.object for t in note.triples}
        self.covers = sorted({span for s in strings for span in find_spans(note.text, s)})
        self._cache: dict[str, list[Span]] = {}

    def __call__(self, string: str) -> list[Span]:
        found = self._cache.get(string)
        if found is None:
            spans = [s for s in find_spans(self.note.text, string)
                     if not any(a <= s[0] and s[1] <= b and (b - a) > (s[1] - s[0]) for a, b in self.covers)]
            if self.rules is not None and spans:
                statuses = self.rules.assess_many(self.note.text, spans)
                spans = [s for s, a in zip(spans, statuses) if a.status != "absent"]
            found = self._cache[string] = spans
        return found


def note_passages(notes: Iterable[Note], max_chars: int, overlap_chars: int, rules=None,
                  with_prefix: bool = True) -> list[NotePassage]:
    """Every window of every note as a passage sample (see the module docstring). `rules`: a
    ContextRules to leave denied occurrences out (None keeps them)."""
    out = []
    for note in notes:
        main = note.main_condition()
        occurrences = _Occurrences(note, rules)
        for window in make_windows(note.text, max_chars, overlap_chars):
            prefix = main + TOPIC_MARK if (with_prefix and main and
                                           not window.text.startswith(main + TOPIC_MARK)) else ""
            shift = len(prefix) - window.start  # note offset -> passage offset

            def inside(spans: Sequence[Span]) -> tuple[Span, ...]:
                return tuple((a + shift, b + shift) for a, b in spans if window.start <= a and b <= window.end)

            triples = []
            for t in note.triples:
                objects = inside(occurrences(t.object))
                subjects = inside(occurrences(t.subject))
                if prefix and t.subject == main:
                    subjects = ((0, len(main)),) + subjects
                if objects and subjects:
                    triples.append(Triple(t.subject, t.subject_type, t.predicate, t.object, t.object_type,
                                          subject_spans=subjects, object_spans=objects))
            out.append(NotePassage(note, window, prefix, Sample(prefix + window.text, tuple(triples))))
    return out


def main_condition_examples(notes: Iterable[Note], max_chars: int, overlap_chars: int,
                            rules=None) -> list[MrcExample]:
    """The main-condition question on every plain window, answered by its occurrences there."""
    examples = []
    for note in notes:
        main = note.main_condition()
        if not main:
            continue
        spans = _Occurrences(note, rules)(main)
        for window in make_windows(note.text, max_chars, overlap_chars):
            inside = tuple((a - window.start, b - window.start) for a, b in spans
                           if window.start <= a and b <= window.end)
            examples.append(MrcExample(MAIN_CONDITION_QUERY, window.text, inside, MAIN_PREDICATE, 0))
    return examples


def entity_examples(notes: Iterable[Note], max_chars: int, overlap_chars: int) -> list[MrcExample]:
    """One question per (window, gold entity type present in it), answered by those entities."""
    examples = []
    for note in notes:
        if not note.entities:
            continue
        for window in make_windows(note.text, max_chars, overlap_chars):
            by_type: dict[str, set[Span]] = {}
            for e in note.entities:
                if window.start <= e.start and e.end <= window.end:
                    by_type.setdefault(e.type, set()).add((e.start - window.start, e.end - window.start))
            for entity_type, spans in sorted(by_type.items()):
                examples.append(MrcExample(ENTITY_QUERY.format(noun=entity_type), window.text,
                                           tuple(sorted(spans)), f"entity:{entity_type}", 0))
    return examples


def main_negatives(passages: Sequence[NotePassage], schema, per_passage: float, seed: int) -> list[MrcExample]:
    """Turn-2 questions about the main condition for predicates it does not hold in the passage
    (empty answers): at run time the prefix puts the main condition in every window, and a
    predicate the classifier wrongly proposes must find no object there. Drawn by frequency."""
    import random

    rng = random.Random(seed)
    counts = {p: 1 for p in schema.predicates}
    for p in passages:
        for t in p.sample.triples:
            if t.predicate in counts:
                counts[t.predicate] += 1
    names, weights = list(counts), [counts[p] for p in counts]
    examples = []
    for p in passages:
        main = p.prefix[:-len(TOPIC_MARK)] if p.prefix else ""
        if not main:
            continue
        held = {t.predicate for t in p.sample.triples if t.subject == main}
        draws = int(per_passage) + (rng.random() < per_passage - int(per_passage))
        for _ in range(draws):
            predicate = rng.choices(names, weights)[0]
            if predicate not in held:
                examples.append(MrcExample(schema.object_query(predicate, main), p.sample.text, (),
                                           predicate, 2, main))
    return examples


# Lexicon channels for the notes' gold entity types (CCKS 2019 / 2017 names -> CMeEE codes)
ENTITY_CHANNELS = {"疾病和诊断": "dis", "解剖部位": "bod", "身体部位": "bod", "影像检查": "pro",
                   "实验室检验": "ite", "检查和检验": "pro", "手术": "pro", "治疗": "pro", "药物": "dru",
                   "症状和体征": "sym"}


def lexicon_sources(notes: Iterable[Note]) -> tuple[list[Sample], list]:
    """The notes as lexicon sources: one Sample per note (its triples' strings, typed by the
    schema) and one NerSample per note (its gold entities on CMeEE channels). Both carry the note's
    text, so the lexicon gives them one fold and a training note never sees only its own entries."""
    from etl.data.cmeee import Entity, NerSample

    samples, ner = [], []
    for note in notes:
        samples.append(Sample(note.text, tuple(Triple(t.subject, t.subject_type, t.predicate, t.object,
                                                      t.object_type) for t in note.triples)))
        entities = tuple(Entity(e.start, e.end, ENTITY_CHANNELS[e.type], e.text)
                         for e in note.entities if e.type in ENTITY_CHANNELS)
        if entities:
            ner.append(NerSample(note.text, entities))
    return samples, ner
