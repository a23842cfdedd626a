"""Annotated notes -> the window samples the models train on (etl/data/note_windows.py)."""
import pytest

from etl.data.emr_re import Note, NoteEntity, NoteTriple
from etl.data.note_windows import (entity_examples, lexicon_sources, main_condition_examples, main_negatives,
                                   note_passages)
from etl.models.assertion.rules import ContextRules
from etl.schema import load_schema

TEXT = ("患者无明显诱因出现腹痛，无发热，门诊以“胃癌”收入。行CT检查。行PET-CT示肝转移。"
        "高血压病史10年，口服硝苯地平。入院后行胃癌根治术。")


def triple(subject, predicate, obj, stype="疾病", otype="症状"):
    return NoteTriple(subject, stype, predicate, obj, otype)


NOTE = Note("n1", TEXT, (
    triple("胃癌", "临床表现", "腹痛"),
    triple("胃癌", "影像学检查", "CT", otype="检查"),
    triple("胃癌", "影像学检查", "PET-CT", otype="检查"),
    triple("胃癌", "手术治疗", "胃癌根治术", otype="手术治疗"),
    triple("高血压", "药物治疗", "硝苯地平", otype="药物"),
), (NoteEntity(TEXT.index("硝苯地平"), TEXT.index("硝苯地平") + 4, "药物", "硝苯地平"),
    NoteEntity(TEXT.index("PET-CT"), TEXT.index("PET-CT") + 6, "影像检查", "PET-CT")))


@pytest.fixture(scope="module")
def rules():
    return ContextRules.load()


def spans_of(sample, obj):
    return [sample.text[a:b] for t in sample.triples if t.object == obj for a, b in t.object_spans]


def test_one_window_holds_every_triple_with_the_main_condition_as_its_prefix(rules):
    [passage] = note_passages([NOTE], 200, 40, rules)
    sample = passage.sample
    assert passage.prefix == "胃癌@" and sample.text == "胃癌@" + TEXT
    by_object = {t.object: t for t in sample.triples}
    assert set(by_object) == {"腹痛", "CT", "PET-CT", "胃癌根治术", "硝苯地平"}
    # the main condition's answers: the prefix and its own mention, never the one inside 胃癌根治术
    assert by_object["腹痛"].subject_spans == ((0, 2), (sample.text.index("“胃癌") + 1, sample.text.index("“胃癌") + 3))
    # CT inside PET-CT is not an answer for CT (a longer annotated string covers it)
    assert spans_of(sample, "CT") == ["CT"] and len(by_object["CT"].object_spans) == 1
    # another disease keeps its own subject, found in the window
    assert by_object["硝苯地平"].subject == "高血压" and by_object["硝苯地平"].subject_spans[0][0] > 2


def test_a_denied_occurrence_is_not_an_answer(rules):
    text = "患者无腹痛，门诊以“胃癌”收入，3天前出现腹痛。"
    note = Note("n", text, (triple("胃癌", "临床表现", "腹痛"),))
    [passage] = note_passages([note], 200, 40, rules)
    [t] = passage.sample.triples
    assert [passage.sample.text[a:b] for a, b in t.object_spans] == ["腹痛"]
    assert t.object_spans[0][0] == passage.sample.text.rindex("腹痛")  # the present one, not 无腹痛


def test_windows_far_from_the_diagnosis_still_get_its_triples(rules):
    passages = note_passages([NOTE], 30, 5, rules)
    assert len(passages) > 2
    last = next(p for p in passages if "胃癌根治术" in p.window.text)
    assert "“胃癌”" not in last.window.text and last.sample.text.startswith("胃癌@")
    [t] = [t for t in last.sample.triples if t.object == "胃癌根治术"]
    assert t.subject_spans[0] == (0, 2)
    # a triple whose non-main subject is in another window is not in this one
    for p in passages:
        for t in p.sample.triples:
            if t.subject == "高血压":
                assert "高血压" in p.window.text


def test_main_condition_questions_mark_its_occurrences_in_each_plain_window(rules):
    examples = main_condition_examples([NOTE], 30, 5, rules)
    assert {e.text for e in examples} == {w for w in (e.text for e in examples)}  # plain windows
    with_main = [e for e in examples if e.spans]
    assert with_main and all(e.text[a:b] == "胃癌" for e in with_main for a, b in e.spans)
    assert any(not e.spans for e in examples)  # windows without it: empty answers
    assert not any(e.text.startswith("胃癌@") for e in examples)


def test_entity_questions_negatives_and_lexicon_sources(rules):
    entities = entity_examples([NOTE], 200, 40)
    assert {e.query for e in entities} == {"找出文本中的药物", "找出文本中的影像检查"}
    passages = note_passages([NOTE], 200, 40, rules)
    negatives = main_negatives(passages, load_schema(), 5.0, seed=1)
    assert negatives and all(e.spans == () and e.subject == "胃癌" and e.turn == 2 for e in negatives)
    assert not {e.predicate for e in negatives} & {"临床表现", "影像学检查", "手术治疗"}
    samples, ner = lexicon_sources([NOTE])
    assert samples[0].text == ner[0].text == TEXT
    assert {e.type for e in ner[0].entities} == {"dru", "pro"}
