"""A past illness keeps only the relations its own sentence states (etl/history.py), sentence by
sentence."""
import pytest

from etl.history import named_as_past, past_illness_elsewhere, sentence_of


def place(text, name, nth=0):
    at = -1
    for _ in range(nth + 1):
        at = text.index(name, at + 1)
    return at, at + len(name)


@pytest.mark.parametrize("text, name", [
    ("既往糖尿病7年，自行皮下注射胰岛素。", "糖尿病"),
    ("冠心病史3年。", "冠心病"),
    ("2、脑梗死病史3年，遗留右侧肢体活动障碍。", "脑梗死"),
    ("既往脑梗死、高血压、高血压性心脏病。", "高血压"),
])
def test_a_past_illness_is_named_as_past(text, name):
    assert named_as_past(text, *place(text, name))


@pytest.mark.parametrize("text, name", [
    ("门诊以“肺炎”收入院。", "肺炎"),
    ("据患者既往病史，故诊断高血压病3级极高危组。", "高血压病"),  # the note's own diagnosis
    ("患者1周前出现咳嗽、咳痰。", "咳嗽"),
])
def test_a_current_condition_is_not(text, name):
    assert not named_as_past(text, *place(text, name))


def test_a_past_illness_keeps_what_its_own_sentence_states():
    text = "高血压病史10年，口服硝苯地平控制；1周前出现发热、咳嗽。"
    subject = place(text, "高血压")
    assert not past_illness_elsewhere(text, subject, place(text, "硝苯地平"))
    assert past_illness_elsewhere(text, subject, place(text, "发热"))


def test_a_current_diagnosis_keeps_findings_of_other_sentences():
    text = "患者1周前出现发热、咳嗽。门诊以“肺炎”收入院。"
    assert not past_illness_elsewhere(text, place(text, "肺炎"), place(text, "发热"))


def test_the_sentence_ends_at_a_full_stop_or_semicolon():
    text = "甲。乙丙；丁"
    assert sentence_of(text, 2, 3) == (2, 4)
    assert sentence_of(text, 5, 6) == (5, 6)
