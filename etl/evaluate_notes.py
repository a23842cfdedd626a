"""Scoring of triples extracted from clinical notes, as EMR-RE's ANNOTATION.md ("Scoring") defines it.

- Per note, over (subject, predicate, object) strings. Gold: the triples marked `present`. System:
  the triples whose two ends the system marks present (the caller passes only those), each string
  triple counted once per note.
- Gold `possible` triples are left out of both sides: they are not gold, and a system triple that
  matches one (and no present gold triple) is not counted as predicted either.
- Strict: subject, predicate and object strings equal.
- Lenient: predicates equal and, for subject and object each, one string contains the other. One
  system triple matches at most one gold triple and the reverse (a maximum matching per note and
  predicate), so `腹痛` and `腹` cannot both be credited for one gold `腹痛`.
- Micro precision = correct / predicted, recall = correct / gold; per predicate likewise.

Notes are matched by id; a gold note missing from the predictions predicted nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from etl.data.emr_re import POSSIBLE, PRESENT, Note
from etl.evaluate import Counts
from etl.run import stages
from etl.run.options import RunOptions, run_options
from etl.run.stages import Models

Key = tuple[str, str, str]


def _lenient(a: Key, b: Key) -> bool:
    return a[1] == b[1] and (a[0] in b[0] or b[0] in a[0]) and (a[2] in b[2] or b[2] in a[2])


def _matching(system: list[Key], gold: list[Key]) -> int:
    """Size of a maximum one-to-one lenient matching (Kuhn's augmenting paths; lists are short)."""
    edges = [[g for g, gold_key in enumerate(gold) if _lenient(key, gold_key)] for key in system]
    owner: dict[int, int] = {}

    def augment(s: int, seen: set[int]) -> bool:
        for g in edges[s]:
            if g not in seen:
                seen.add(g)
                if g not in owner or augment(owner[g], seen):
                    owner[g] = s
                    return True
        return False

    return sum(augment(s, set()) for s in range(len(system)))


@dataclass
class NoteScores:
    strict: Counts = field(default_factory=Counts)
    lenient: Counts = field(default_factory=Counts)
    strict_by_predicate: dict[str, Counts] = field(default_factory=dict)
    lenient_by_predicate: dict[str, Counts] = field(default_factory=dict)
    notes: int = 0
    notes_without_triples: int = 0  # gold notes for which the system gave no present triple
    gold_possible: int = 0
    left_out_strict: int = 0  # system triples left out for matching a gold possible one (strictly)
    left_out_lenient: int = 0  # ... (leniently, and no present gold triple)

    def as_dict(self) -> dict:
        def table(by: dict[str, Counts]) -> dict:
            return {p: c.as_dict() for p, c in sorted(by.items(), key=lambda kv: (-kv[1].gold, kv[0]))}

        return {"strict": self.strict.as_dict(), "lenient": self.lenient.as_dict(),
                "notes": self.notes, "notes_without_triples": self.notes_without_triples,
                "gold_possible_left_out": self.gold_possible,
                "predicted_left_out_as_possible": {"strict": self.left_out_strict, "lenient": self.left_out_lenient},
                "per_predicate": {"strict": table(self.strict_by_predicate),
                                  "lenient": table(self.lenient_by_predicate)}}


def _add(counts: Counts, by: dict[str, Counts], predicate: str, gold: int, predicted: int, correct: int) -> None:
    for target in (counts, by.setdefault(predicate, Counts())):
        target.gold += gold
        target.predicted += predicted
        target.correct += correct


def score_notes(gold: Iterable[Note], predicted: Mapping[str, Iterable[Key]]) -> NoteScores:
    """`predicted`: note id -> the (subject, predicate, object) triples the system asserts present."""
    scores = NoteScores()
    for note in gold:
        scores.notes += 1
        present = {t.key for t in note.triples if t.assertion == PRESENT}
        possible = {t.key for t in note.triples if t.assertion == POSSIBLE} - present
        scores.gold_possible += len(possible)
        system = set(predicted.get(note.id, ()))
        scores.notes_without_triples += not system
        for predicate in {k[1] for k in present | possible | system}:
            g = sorted(k for k in present if k[1] == predicate)
            maybe = [k for k in possible if k[1] == predicate]
            s = sorted(k for k in system if k[1] == predicate)
            # strict: a system triple equal to a gold possible one is on neither side
            strict_s = [k for k in s if k in present or k not in possible]
            scores.left_out_strict += len(s) - len(strict_s)
            _add(scores.strict, scores.strict_by_predicate, predicate, len(g), len(strict_s),
                 len(set(strict_s) & set(g)))
            # lenient: matched to present gold first; an unmatched one that matches a possible is left out
            correct = _matching(s, g)
            unmatched = _unmatched(s, g)
            left_out = sum(any(_lenient(k, p) for p in maybe) for k in unmatched)
            scores.left_out_lenient += left_out
            _add(scores.lenient, scores.lenient_by_predicate, predicate, len(g), len(s) - left_out, correct)
    return scores


def _unmatched(system: list[Key], gold: list[Key]) -> list[Key]:
    """The system triples a maximum matching leaves without a gold partner. Greedy over a maximum
    matching: a triple is unmatched when dropping it does not lower the matching size."""
    full = _matching(system, gold)
    kept, out = list(system), []
    for key in system:
        trial = [k for k in kept if k != key]
        if _matching(trial, gold) == full:
            kept = trial
            out.append(key)
    return out


def format_scores(scores: NoteScores) -> str:
    """Readable table: per predicate strict and lenient P/R/F1, most frequent gold predicate first."""
    rows = sorted(scores.strict_by_predicate, key=lambda p: (-scores.strict_by_predicate[p].gold, p))
    width = max([len(p) * 2 for p in rows] + [12])

    def cells(c: Counts) -> str:
        return f"{c.precision:7.4f} {c.recall:7.4f} {c.f1:7.4f}"

    def line(name: str, strict: Counts, lenient: Counts) -> str:
        pad = width - sum(2 if ord(ch) > 0x2E7F else 1 for ch in name)
        return (f"{name}{' ' * pad}  {cells(strict)}   {cells(lenient)}"
                f" {strict.gold:6d} {strict.predicted:6d} {strict.correct:7d} {lenient.correct:7d}")

    head = (f"{'predicate':<{width}}  {'strict P':>7} {'R':>7} {'F1':>7}   {'lenient P':>7} {'R':>7} {'F1':>7}"
            f" {'gold':>6} {'pred':>6} {'strict':>7} {'lenient':>7}")
    out = [head] + [line(p, scores.strict_by_predicate[p], scores.lenient_by_predicate.get(p, Counts()))
                    for p in rows]
    out.append("-" * len(head))
    out.append(line("micro", scores.strict, scores.lenient))
    out.append(f"{scores.notes} notes, {scores.notes_without_triples} with no present triple; "
               f"{scores.gold_possible} gold possible triples left out "
               f"(system triples matching them left out too: {scores.left_out_strict} strict, "
               f"{scores.left_out_lenient} lenient)")
    return "\n".join(out)


# --------------------------------------------------------------------------- the run path
@dataclass
class NotesRun:
    """The configured models as `etl run` loads them, the run's options, and what its stages have
    counted so far (windows, main conditions, span questions, ...): what `extract_notes` runs."""
    models: Models
    options: RunOptions
    counts: stages.Counts = field(default_factory=stages.Counts)


def notes_run(settings) -> NotesRun:
    """The configured models loaded (no sink): TensorFlow is imported here."""
    from etl.models.folder import check_folder
    from etl.run.models import load_models
    from etl.runtime import configure

    check_folder(settings.relation.model_dir, "relation")  # clear errors before TensorFlow loads
    check_folder(settings.spans.model_dir, "spans")
    return NotesRun(load_models(settings, configure(settings.runtime)), run_options(settings))


def note_documents(notes: Sequence[Note], first: int = 0) -> list:
    """The annotated notes as the documents `etl run` reads (row numbers from `first`)."""
    from etl.extract import SourceDocument, content_hash

    return [SourceDocument(n.id, n.text, "gold", i, content_hash(n.text, {})) for i, n in enumerate(notes, first)]


def extract_notes(run: NotesRun, notes: list[Note], batch: int = 64) -> dict[str, list]:
    """Every note through the run's stages (etl/run/stages.py `extract`: what `etl run` does to a
    batch of documents: windows, relations, spans, merge, assertion) -> note id -> its evidence."""
    found: dict[str, list] = {}
    for first in range(0, len(notes), batch):
        results, counts = stages.extract(run.models, run.options, note_documents(notes[first:first + batch], first),
                                         "evaluate")
        run.counts.add(counts)
        for document, evidence in results:
            found[document.doc_id] = evidence
    return found


def asserted_keys(evidence: Iterable) -> set[Key]:
    """The (subject, predicate, object) strings of the evidence whose two ends are present."""
    return {(e.subject, e.predicate, e.object) for e in evidence if e.asserted}


def evidence_rows(note: Note, evidence: Iterable) -> dict:
    """A note's predictions in the EMR-RE format (every triple, `assertion` as the system judged
    the two ends: present only when both are), for reading and for `etl evaluate notes --pred`."""
    rows = []
    for e in evidence:
        status = PRESENT if e.asserted else (POSSIBLE if POSSIBLE in (e.subject_assertion, e.object_assertion)
                                             and "absent" not in (e.subject_assertion, e.object_assertion)
                                             else "absent")
        rows.append({"subject": e.subject, "subject_type": e.subject_type, "predicate": e.predicate,
                     "object": e.object, "object_type": e.object_type, "assertion": status,
                     "subject_start": e.subject_start, "object_start": e.object_start,
                     "score": e.score})
    return {"id": note.id, "text": note.text, "spo_list": rows}


# --------------------------------------------------------------------------- note thresholds
# Settings within this strict F1 of the best count as equal; the largest scale, then the largest
# score floor wins: fewer span questions and fewer weak triples for the same figure.
SCALE_TOLERANCE = 0.002


def tune_note_thresholds(run: NotesRun, notes: list[Note], scales, min_scores,
                         log=print) -> tuple[tuple[float, float], list[dict]]:
    """The decision for notes' passages that gives `notes` (annotated, held out from training) the
    best strict F1 end to end: each scale of the relation thresholds
    decides which predicates the span model is asked, as `etl run` asks them (span turns, merge,
    assertion), and each least triple score (relation probability x span pointers) drops the
    weakest triples. The main conditions and relation probabilities are computed once, the span
    turns once per scale. Returns ((scale, min score), one figure row per setting)."""
    models = run.models
    relations = models.relations
    items, _ = stages.conditions(models, stages.prepare(models, run.options, note_documents(notes))[0])
    probabilities = relations.probabilities_encoded([ids for item in items for ids in item.token_ids])
    flags = [passage.of_a_note for item in items for passage in item.passages]
    kept, floor, rows = relations.note_thresholds, relations.note_min_score, []
    try:
        relations.note_min_score = 0.0  # the floor is applied below, to the same evidence
        for scale in sorted(set(scales) | {1.0}):
            relations.note_thresholds = relations.thresholds * scale
            predicted = relations.decide(probabilities, flags)
            found_by_spans = stages.spans(models, items, predicted, "evaluate")[0]
            evidence = [(document.doc_id, found) for document, found in stages.assertions(models, found_by_spans)[0]]
            for least in sorted(set(min_scores) | {0.0}):
                scores = score_notes(notes, {doc: {(e.subject, e.predicate, e.object) for e in found
                                                   if e.asserted and e.score >= least}
                                             for doc, found in evidence})
                rows.append({"scale": scale, "min_triple_score": least,
                             "span_questions": sum(len(p) for p in predicted),
                             "strict": scores.strict.as_dict(), "lenient": scores.lenient.as_dict()})
                log(f"scale {scale:g}, least triple score {least:g}: {rows[-1]['span_questions']} relation "
                    f"questions, strict P {scores.strict.precision:.4f} R {scores.strict.recall:.4f} "
                    f"F1 {scores.strict.f1:.4f}, lenient F1 {scores.lenient.f1:.4f}")
    finally:
        relations.note_thresholds, relations.note_min_score = kept, floor
    return choose_note_decision(rows), rows


def choose_note_decision(rows: list[dict]) -> tuple[float, float]:
    """(scale, min score) of the rows: the best strict F1; within SCALE_TOLERANCE of it, the
    largest scale, then the largest min score."""
    best = max(r["strict"]["f1"] for r in rows)
    chosen = max((r for r in rows if r["strict"]["f1"] >= best - SCALE_TOLERANCE),
                 key=lambda r: (r["scale"], r["min_triple_score"]))
    return chosen["scale"], chosen["min_triple_score"]
