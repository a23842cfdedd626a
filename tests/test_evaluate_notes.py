"""Scoring of note triples as EMR-RE's ANNOTATION.md defines it, checked against hand counts."""
import json

import pytest

from etl.data.emr_re import Note, NoteTriple, parse_note
from etl.evaluate_notes import format_scores, score_notes

MAIN = "乙状结肠腺癌"


def note(note_id, *triples):
    return Note(note_id, "…", tuple(NoteTriple(s, "疾病", p, o, "症状", a) for s, p, o, a in triples))


GOLD = [
    note("n1",
         (MAIN, "临床表现", "血便", "present"),
         (MAIN, "临床表现", "大便次数稍增多", "present"),
         (MAIN, "手术治疗", "乙状结肠癌切除术", "present"),
         (MAIN, "转移部位", "肝", "possible"),  # hedged: neither side
         (MAIN, "影像学检查", "腹部CT", "present")),
    note("n2", ("高血压", "药物治疗", "硝苯地平", "present")),
    note("n3"),
]


def test_strict_and_lenient_counts_by_hand():
    predicted = {
        "n1": {(MAIN, "临床表现", "血便"),            # strict + lenient
               (MAIN, "临床表现", "大便次数"),        # lenient only (gold contains it)
               (MAIN, "转移部位", "肝"),              # matches the possible gold triple: left out
               (MAIN, "影像学检查", "CT"),            # lenient only
               ("结肠腺癌", "手术治疗", "乙状结肠癌切除术"),  # lenient (subject contained), not strict
               (MAIN, "临床表现", "腹痛")},           # wrong
        "n2": {("高血压", "药物治疗", "硝苯地平")},   # strict
        "n3": set(),
    }
    scores = score_notes(GOLD, predicted)
    # gold present: 5; strict: 7 predicted - 1 left out (the possible one) = 6, 2 correct
    assert (scores.strict.gold, scores.strict.predicted, scores.strict.correct) == (5, 6, 2)
    assert scores.strict.precision == pytest.approx(2 / 6) and scores.strict.recall == pytest.approx(2 / 5)
    # lenient: 5 correct (血便, 大便次数, CT, 切除术, 硝苯地平), 6 predicted after the left-out one
    assert (scores.lenient.gold, scores.lenient.predicted, scores.lenient.correct) == (5, 6, 5)
    assert scores.lenient.f1 == pytest.approx(2 * (5 / 6) * 1.0 / (5 / 6 + 1.0))
    assert (scores.left_out_strict, scores.left_out_lenient, scores.gold_possible) == (1, 1, 1)
    assert scores.notes == 3 and scores.notes_without_triples == 1  # n3
    by = scores.strict_by_predicate
    assert (by["临床表现"].gold, by["临床表现"].predicted, by["临床表现"].correct) == (2, 3, 1)
    assert "转移部位" not in by or by["转移部位"].gold == 0 and by["转移部位"].predicted == 0
    assert scores.lenient_by_predicate["临床表现"].correct == 2
    table = format_scores(scores)
    assert "micro" in table and "临床表现" in table and "1 with no present triple" in table


def test_a_lenient_match_is_one_to_one():
    gold = [note("n", ("胃癌", "临床表现", "腹痛", "present"))]
    both = {("胃癌", "临床表现", "腹痛"), ("胃癌", "临床表现", "腹")}  # two system strings, one gold
    scores = score_notes(gold, {"n": both})
    assert (scores.lenient.correct, scores.lenient.predicted) == (1, 2)
    assert (scores.strict.correct, scores.strict.predicted) == (1, 2)


def test_a_system_triple_that_matches_present_gold_is_never_left_out():
    gold = [note("n", ("胃癌", "转移部位", "肝", "present"), ("胃癌", "转移部位", "肝脏", "possible"))]
    scores = score_notes(gold, {"n": {("胃癌", "转移部位", "肝")}})
    assert (scores.strict.correct, scores.strict.predicted, scores.lenient.predicted) == (1, 1, 1)


def test_reader_places_offsets_and_falls_back_to_the_first_occurrence():
    row = {"id": "x", "text": "患者因腹痛入院，腹痛加重。诊断为胃癌。",
           "spo_list": [{"subject": "胃癌", "subject_type": "疾病", "predicate": "临床表现", "object": "腹痛",
                         "object_type": "症状", "assertion": "present", "subject_start": 16, "object_start": 8},
                        {"subject": "胃癌", "predicate": "临床表现", "object": "腹痛", "subject_start": 99,
                         "object_start": 0}],
           "entities": [{"start": 16, "end": 18, "type": "疾病和诊断", "text": "胃癌"}]}
    parsed = parse_note(json.loads(json.dumps(row)))
    first, second = parsed.triples
    assert (first.subject_start, first.object_start) == (16, 8)
    assert (second.subject_start, second.object_start, second.assertion) == (16, 3, "present")  # wrong offsets
    assert parsed.entities[0].text == "胃癌" and parsed.main_condition() == "胃癌"
    with pytest.raises(KeyError):
        parse_note({"id": "y", "text": "x", "spo_list": [{"subject": "a", "predicate": "p", "object": "b",
                                                           "assertion": "maybe"}]})


def test_the_note_decision_is_the_best_f1_then_the_largest_scale_and_floor_within_the_tolerance():
    from etl.evaluate_notes import SCALE_TOLERANCE, choose_note_decision

    def row(scale, least, f1):
        return {"scale": scale, "min_triple_score": least, "strict": {"f1": f1}}

    rows = [row(1.0, 0.0, 0.4429), row(0.3, 0.0, 0.4591), row(0.3, 0.1, 0.4618), row(0.2, 0.1, 0.4636),
            row(0.2, 0.2, 0.4556)]
    assert choose_note_decision(rows) == (0.3, 0.1)  # 0.4618 is within the tolerance of 0.4636
    assert choose_note_decision(rows + [row(0.2, 0.3, 0.4636 + SCALE_TOLERANCE + 0.0001)]) == (0.2, 0.3)
    assert choose_note_decision(rows + [row(0.3, 0.2, 0.4618)]) == (0.3, 0.2)  # equal: the larger floor
    assert choose_note_decision([row(1.0, 0.0, 0.40), row(0.5, 0.0, 0.40)]) == (1.0, 0.0)
