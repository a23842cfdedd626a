"""etl/notes/lists.py: one item of a note's list gives the others, sentence by sentence."""
from __future__ import annotations

import dataclasses

import pytest

from etl.records import Evidence
from etl.notes.lists import complete_lists, list_siblings


def siblings(text: str, found: str) -> list[str]:
    start = text.index(found)
    return [text[a:b] for a, b in list_siblings(text, start, start + len(found))]


@pytest.mark.parametrize("text, found, others", [
    ("进食后腹痛，伴反酸、嗳气、烧心，间断黑便。", "反酸", ["嗳气", "烧心"]),
    ("进食后腹痛，伴反酸、嗳气、烧心，间断黑便。", "烧心", ["反酸", "嗳气"]),  # 伴 is no part of the name
    ("排便后缓解。伴恶心、呕吐1次胃内容物，无咖啡色物。", "恶心", ["呕吐"]),  # a count after a later item
    ("入院前2月出现活动后心累、气促。", "气促", []),  # an earlier item must be a whole short name
    ("感心悸、心慌、乏力明显。", "心悸", ["心慌", "乏力明显"]),
    ("患者咳嗽，咳痰。", "咳嗽", []),  # no 、-list
    ("3天前停止排气、排便。", "停止排气", []),  # 停止 governs the list: 排便 alone is no symptom
    ("伴腹痛，无反酸、腹泻。", "腹泻", []),
    ("伴腹部不适、腹胀。", "腹胀", ["腹部不适"]),
    ("诉腹胀、嗳气“胃炎”、反酸", "腹胀", ["嗳气"]),  # a quote ends the clause
])
def test_the_other_items_of_a_list(text, found, others):
    assert siblings(text, found) == others


def _symptom(text: str, name: str, predicate: str = "临床表现") -> Evidence:
    start = text.index(name)
    return Evidence(doc_id="d", subject="胃炎", subject_type="疾病", predicate=predicate, object=name,
                    object_type="症状", score=0.6, subject_start=0, subject_end=2,
                    object_start=start, object_end=start + len(name))


def test_an_added_item_is_cut_as_the_models_objects_are():
    text = "2、以咳嗽、咳痰，流涕、发热为主症。"
    (added,) = complete_lists(text, [_symptom(text, "流涕")])[1:]
    assert added.object == "发热" == text[added.object_start:added.object_end]


def test_complete_lists_adds_items_at_free_places_with_the_found_ones_subject_and_score():
    text = "胃炎。伴反酸、嗳气、烧心，服奥美拉唑、铝碳酸镁。"
    found = [_symptom(text, "反酸"), _symptom(text, "烧心"),
             _symptom(text, "奥美拉唑", predicate="药物治疗")]  # a drug's list is left alone
    completed = complete_lists(text, found)
    added = completed[len(found):]
    assert completed[:len(found)] == found
    assert [(e.object, e.object_start, e.subject, e.predicate, e.score) for e in added] == [
        ("嗳气", text.index("嗳气"), "胃炎", "临床表现", 0.6)]  # 烧心's place is taken already


@pytest.mark.parametrize("text, found", [
    ("胸部正位片示：两肺纹理增粗、增多，模糊。", "两肺纹理增粗"),  # a change word alone
    ("精神差、神志清楚，查体合作。", "精神差"),  # a normal state
])
def test_an_added_item_is_left_out_as_the_models_objects_are(text, found):
    assert complete_lists(text, [_symptom(text, found)])[1:] == []


def test_two_symptoms_written_as_one_are_two_objects():
    from etl.records import Evidence
    from etl.notes.lists import split_joined

    text = "主因头痛头晕2天入院，腹部胀痛。"
    at = text.index("头痛头晕")
    ev = Evidence(doc_id="d", subject="上感", subject_type="疾病", predicate="临床表现", object="头痛头晕",
                  object_type="症状", score=0.9, subject_start=0, subject_end=2, object_start=at, object_end=at + 4)
    parts = split_joined([ev])
    assert [(p.object, text[p.object_start:p.object_end]) for p in parts] == [("头痛", "头痛"), ("头晕", "头晕")]
    other = text.index("腹部胀痛")  # not two symptom words: as it is
    kept = dataclasses.replace(ev, object="腹部胀痛", object_start=other, object_end=other + 4)
    assert split_joined([kept]) == [kept]
