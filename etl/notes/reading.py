"""Window triples -> document evidence, then a note read as a whole: the order the note rules apply in.

`merge_triples` turns each passage's span triples into evidence at document offsets and applies the
rules that need only the passage (the schema's whitelist, normal states, a past illness's sentence,
a site or symptom told apart from its disease); `read_note` then reads a note's merged evidence as a
whole (whole names, the reasoning's diagnosis, one subject per object, lists, purposes, ...). The
run's spans stage calls both (etl/run/stages.py); `etl evaluate notes` runs the same stage. This
module is part of the span model's run-time version (CONDITION_MODULES), with the rules it calls.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, NamedTuple, Sequence

from etl.notes.attribution import (conclusions, in_differential, known_subjects, one_subject_per_object,
                                   passing_mention_elsewhere, reasoned_subjects, site_told_apart, stated_purposes,
                                   told_before_found)
from etl.notes.conditions import Passage
from etl.notes.findings import (exam_word, listed_not_differential, names_no_disease, regimens_over_bare_chemo,
                                states_normal, symptoms_after_treatment, test_kind)
from etl.notes.history import past_illness_elsewhere, past_owns_its_sentence
from etl.notes.lists import complete_lists, split_joined
from etl.notes.names import trim_object, whole_subjects
from etl.records import Evidence
from etl.schema import Schema
from etl.values import normalize_name
from etl.windows import Window


class Merged(NamedTuple):
    """A document's evidence from its passages, and what the passage rules left out, by reason."""
    evidence: list[Evidence]
    dropped_by_schema: int  # a type or predicate the schema does not allow, an empty name, no place
    normal: int  # a normal state or an exam word: no finding (etl/notes/findings.py)
    past: int  # a past illness's sentence (etl/notes/history.py)
    apart: int  # a site or a symptom told apart from its disease (etl/notes/attribution.py)


class NoteReading(NamedTuple):
    """A note's evidence once read as a whole, and what the reading added or left out."""
    evidence: list[Evidence]
    listed: int  # items added from the lists of found findings (etl/notes/lists.py)
    not_diseases: int  # left out: a subject that names no disease (etl/notes/findings.py)
    told_before: int  # left out: a finding told before its disease was found (etl/notes/attribution.py)


def merge_triples(doc_id: str, windows: Sequence[Window | Passage], window_triples: Sequence[Sequence],
                  versions: dict[str, str], run_id: str, schema: Schema) -> Merged:
    """Passage-level span triples -> document-level evidence, one per place (best score wins) and
    one predicate per pair of places (`one_predicate_per_pair`), and only for (subject type,
    predicate, object type) the schema allows, names that are not empty once normalised (a span
    of invisible characters), objects that are findings, not normal states (etl/notes/findings.py), and
    for a past illness only objects of its own sentence (etl/notes/history.py); in a note (passages read
    after its main condition), objects cut as the guideline names them (etl/notes/names.py), a site only
    where its sentence names the disease and no symptom of a differential diagnosis
    (etl/notes/attribution.py); the note as a whole is then read by `read_note`.
    A window is read as a passage without a prefix."""
    found: list[Evidence] = []
    dropped = normal = past = apart = 0
    for passage, triples in zip(windows, window_triples):
        passage = passage if isinstance(passage, Passage) else Passage(passage)
        window = passage.window
        main = passage.condition.name if passage.condition is not None else None  # stated somewhere: not in passing
        for t in triples:
            if passage.read_as_note:  # 患者咳嗽 -> 咳嗽, FOLFIRI化疗 -> FOLFIRI: etl/notes/names.py
                start, end = trim_object(passage.text, t.object_start, t.object_end, t.predicate)
                if (start, end) != (t.object_start, t.object_end):
                    t = dataclasses.replace(t, object=passage.text[start:end], object_start=start, object_end=end)
                kind = test_kind(t.predicate, t.object)  # 腹平片 is 影像学检查: etl/notes/findings.py
                if kind != t.predicate:
                    t = dataclasses.replace(t, predicate=kind)
            subject_place = passage.place(t.subject_start, t.subject_end, t.subject)
            object_place = passage.place(t.object_start, t.object_end)
            if not schema.allows(t.subject_type, t.predicate, t.object_type) or \
                    not normalize_name(t.subject) or not normalize_name(t.object) or \
                    subject_place is None or object_place is None or subject_place == object_place:
                dropped += 1
                continue
            if states_normal(passage.text, t.predicate, t.object, t.object_end, t.object_type) or \
                    (passage.read_as_note and exam_word(t.predicate, t.object)) or \
                    (passage.of_a_note and listed_not_differential(passage.text, t.predicate, t.object_end)):
                normal += 1  # a normal state (律齐, 气管居中) or an exam word (膝腱反射) is no finding:
                # etl/notes/findings.py
                continue
            if past_illness_elsewhere(passage.text, (t.subject_start, t.subject_end), (t.object_start, t.object_end)):
                past += 1  # 既往糖尿病7年 does not own the admission's findings: etl/notes/history.py
                continue
            if passage.read_as_note and (site_told_apart(passage.text, t.subject, t.predicate, t.object_start,
                                                      t.object_end, len(passage.prefix))
                                      or in_differential(passage.text, t.predicate, t.object_start, t.object_end)
                                      or (t.subject != main and passing_mention_elsewhere(
                                          passage.text, (t.subject_start, t.subject_end),
                                          (t.object_start, t.object_end)))):
                apart += 1  # 阑尾炎 -发病部位-> the exam's 阴茎, a differential diagnosis's 咳嗽, the CT of the exam's
                continue  # 皮肤挫伤 or the workup of an ECG's 窦性心动过速: etl/notes/attribution.py
            evidence = Evidence(
                doc_id=doc_id, subject=t.subject, subject_type=t.subject_type, predicate=t.predicate,
                object=t.object, object_type=t.object_type, score=round(float(t.score), 6),
                subject_start=subject_place[0], subject_end=subject_place[1],
                object_start=object_place[0], object_end=object_place[1],
                sentence=window.text, sentence_start=window.start, sentence_end=window.end,
                relation_model=versions.get("relation", ""), span_model=versions.get("spans", ""),
                run_id=run_id)
            found.append(evidence)
    return Merged(one_predicate_per_pair(best_per_place(found)), dropped, normal, past, apart)


def read_note(text: str, evidence: list[Evidence], knowledge=None, whole: bool = True) -> NoteReading:
    """A note's merged evidence read as a whole, in this order:
    - a subject that names no disease (`瘢痕`, `破伤风` of `破伤风抗毒素皮试`: etl/notes/findings.py) is
      left out first, read in the note (a window may end right after it); two findings written as
      one are split (etl/notes/lists.py);
    - subjects are given their whole names (etl/notes/names.py), the diagnosis their reasoning
      concludes (etl/notes/attribution.py) and the past illness their sentence names
      (etl/notes/history.py); one subject per object place (etl/notes/attribution.py);
    - symptoms told after a treatment as such (etl/notes/findings.py), the other items of a found
      symptom's list (etl/notes/lists.py);
    - each finding goes to the note's disease the span model's knowledge (its training triples)
      gives it to, each treatment to the disease its stated purpose names (`…，治疗前列腺增生`:
      etl/notes/attribution.py); a bare 化疗 is left out beside its regimen (etl/notes/findings.py);
    - last, a finding told before the disease it is given to was found is left out
      (etl/notes/attribution.py, `told_before_found`).
    A section with no main condition (`whole` false: a physical exam, a treatment course) is read
    for its subjects only (the first step and the last): the others weigh its findings against a
    diagnosis it does not name."""
    named = [ev for ev in evidence
             if ev.subject_start is None or not names_no_disease(text, ev.subject_start, ev.subject_end)]
    not_diseases = len(evidence) - len(named)
    named = best_per_place(split_joined(named))  # 头痛头晕 -> 头痛, 头晕: etl/notes/lists.py
    listed = 0
    if whole:
        reasoned = conclusions(text)  # once for both steps that read the note's reasoning
        evidence = past_owns_its_sentence(text, reasoned_subjects(text, whole_subjects(text, named), reasoned))
        evidence = one_subject_per_object(best_per_place(evidence))  # renamed subjects may share a place
        evidence = symptoms_after_treatment(text, evidence)
        completed = complete_lists(text, evidence)
        listed = len(completed) - len(evidence)
        named = regimens_over_bare_chemo(stated_purposes(text, known_subjects(text, completed, knowledge, reasoned),
                                                         reasoned))
    kept = [ev for ev in named if not told_before_found(text, ev)]
    return NoteReading(kept, listed, not_diseases, len(named) - len(kept))


def one_predicate_per_pair(evidence: list[Evidence]) -> list[Evidence]:
    """One predicate for a (subject place, object place) pair: the best-scoring (the first of
    equals). Two predicates for one pair are rare in the annotations (43 of 8,856 CMeIE pairs, 2 of
    3,926 EMR-RE pairs) and, in the models' output, mostly a confusion of neighbours (CEA as
    实验室检查 and 影像学检查): on EMR-RE dev keeping one raised strict precision 0.380 -> 0.407
    for a recall of 0.337 -> 0.330 (MODELS.md)."""
    best: dict[tuple, Evidence] = {}
    for ev in evidence:
        key = (ev.subject_start, ev.subject_end, ev.object_start, ev.object_end)
        if key not in best or ev.score > best[key].score:
            best[key] = ev
    kept = set(map(id, best.values()))
    return [ev for ev in evidence if id(ev) in kept]


def best_per_place(evidence: Iterable[Evidence]) -> list[Evidence]:
    """One evidence per (predicate, subject place, object place): the best score wins (the first of
    equals), in document order. Windows overlap, and trimming a leading cue (无咳嗽 -> 咳嗽) can move
    one span onto another, so both merges go through here."""
    best: dict[tuple, Evidence] = {}
    for ev in evidence:
        key = (ev.predicate, ev.subject_start, ev.subject_end, ev.object_start, ev.object_end)
        if key not in best or ev.score > best[key].score:
            best[key] = ev
    return sorted(best.values(), key=lambda e: (e.subject_start, e.object_start, e.predicate))
