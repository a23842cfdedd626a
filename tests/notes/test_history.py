"""A past illness keeps only the relations its own sentence states (etl/notes/history.py), sentence by
sentence."""
import pytest

from etl.notes.history import named_as_past, past_illness_elsewhere, sentence_of


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
    ("2.既往7年前患左肾结石。高血压30年，最高180/100mmHg。", "高血压"),  # a duration in years
    ("高血压病、糖尿病20余年。", "糖尿病"),
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


def _ev(text, subject, obj, predicate="药物治疗", at=None):
    from etl.records import Evidence

    s = text.index(subject) if at is None else at
    o = text.index(obj)
    return Evidence(doc_id="d", subject=subject, subject_type="疾病", predicate=predicate, object=obj,
                    object_type="药物", score=0.9, subject_start=s, subject_end=s + len(subject),
                    object_start=o, object_end=o + len(obj))


def test_an_object_in_a_past_illness_sentence_is_that_illness():
    from etl.notes.history import past_owns_its_sentence

    text = "门诊以“输尿管结石”收入。既往精神分裂症病史8年，口服氯氮平治疗。"
    rows = [_ev(text, "输尿管结石", "氯氮平"), _ev(text, "精神分裂症", "氯氮平")]
    assert [(e.subject, e.subject_start) for e in past_owns_its_sentence(text, rows)] == [
        ("精神分裂症", text.index("精神分裂症")), ("精神分裂症", text.index("精神分裂症"))]


@pytest.mark.parametrize("text, owner", [
    # another illness's history between them: the drug is the second one's, which the models did not
    # find but the text names with its history
    ("门诊以“脑梗死”收入。冠心病病史5年，口服单硝酸异山梨酯，高血压病史5年，口服硝苯地平治疗。", "高血压"),
    ("门诊以“脑梗死”收入。冠心病病史5年，口服单硝酸异山梨酯，否认糖尿病史，口服硝苯地平治疗。", "脑梗死"),
    # the illness after the object, or the subject in the same sentence
    ("门诊以“脑梗死”收入。口服硝苯地平治疗，冠心病病史5年。", "脑梗死"),
])
def test_an_object_told_apart_from_the_past_illness_keeps_its_subject(text, owner):
    from etl.notes.history import past_owns_its_sentence

    rows = [_ev(text, "脑梗死", "硝苯地平"), _ev(text, "冠心病", "单硝酸异山梨酯" if "单硝酸" in text else "硝苯地平")]
    assert past_owns_its_sentence(text, rows)[0].subject == owner


@pytest.mark.parametrize("text, names", [
    ("2.既往高血压病病史5年，规律口服硝苯地平缓释片，冠心病史3年。", ["高血压病", "冠心病"]),
    ("既往有脑出血症病史5年，遗留右侧肢体活动不灵。", ["脑出血症"]),
    ("患者男45岁2患精神分裂症病史8年，口服氯氮平。", ["精神分裂症"]),  # after the last lead-in
    ("既往2型糖尿病病史5年。", ["2型糖尿病"]),
    ("否认高血压病史，无手术史、过敏史。", []),  # denied, or no illness
    ("3、现病史：患者", []), ("入院后依据患者病史、症状", []), ("既往有多年反复咳嗽病史", []),  # a complaint's
    ("2.既往患糖尿病7年，自行皮下注射胰岛素治疗。", ["糖尿病"]),  # its years after 既往
    ("既往16年前于某院行剖宫产手术。", []), ("既往体健3年前", []),
])
def test_the_text_names_past_illnesses_with_their_history(text, names):
    from etl.notes.history import named_histories

    assert [h.subject for h in named_histories(text)] == names


def test_a_past_illness_the_models_did_not_find_owns_its_sentence():
    from etl.notes.history import past_owns_its_sentence

    text = "门诊以“脑梗死”收入。既往有脑出血症病史5年，遗留右侧肢体活动不灵。"
    rows = [_ev(text, "脑梗死", "右侧肢体活动不灵", predicate="临床表现")]
    moved = past_owns_its_sentence(text, rows)[0]
    assert (moved.subject, moved.subject_start) == ("脑出血症", text.index("脑出血症"))
    assert past_owns_its_sentence("既往有脑出血症病史5年。", []) == []  # nothing to give
    text = "门诊以“脑梗死”收入。既往胃炎病史8年，双侧膝关节置换术后7年。"  # an operation is its own event
    assert past_owns_its_sentence(text, [_ev(text, "脑梗死", "双侧膝关节置换术",
                                             predicate="手术治疗")])[0].subject == "脑梗死"


def test_a_current_diagnosis_owns_its_sentence_itself():
    from etl.notes.history import past_owns_its_sentence

    text = "既往冠心病病史5年，此次诊断为脑梗死，予阿司匹林口服。"
    rows = [_ev(text, "脑梗死", "阿司匹林"), _ev(text, "冠心病", "阿司匹林")]
    assert past_owns_its_sentence(text, rows)[0].subject == "脑梗死"  # its subject is in the sentence


def test_a_synonym_stays_with_its_name():
    from etl.notes.history import past_owns_its_sentence

    text = "门诊以“脑梗死”收入。既往冠心病病史5年，即冠状动脉粥样硬化性心脏病。"
    rows = [_ev(text, "脑梗死", "冠状动脉粥样硬化性心脏病", predicate="同义词"), _ev(text, "冠心病", "冠心病")]
    assert past_owns_its_sentence(text, rows)[0].subject == "脑梗死"


@pytest.mark.parametrize("text, predicate, obj, subject_historical, left_out", [
    # an operation of the history given to the admission's disease: another event
    ("以“急性阑尾炎”收入。既往16年前行剖宫产手术。", "手术治疗", "剖宫产", False, True),
    # the past illness's own operation, or one whose sentence names the disease
    ("既往因急性阑尾炎在我院行阑尾切除术。", "手术治疗", "阑尾切除术", True, False),
    ("以“直肠癌”收入。2年前于我院行直肠癌根治术。", "手术治疗", "直肠癌根治术", False, False),
    # a chronic disease's earlier drug stays its own
    ("以“糖尿病”收入。入院前20年发现血糖高，曾服用糖脉康。", "药物治疗", "糖脉康", False, False),
])
def test_a_past_event_given_to_a_current_disease_its_sentence_does_not_name(text, predicate, obj, subject_historical,
                                                                            left_out):
    from dataclasses import replace

    from etl.notes.attribution import past_event_of_another

    subject = text[text.index("“") + 1:text.index("”")] if "“" in text else "急性阑尾炎"
    ev = replace(_ev(text, subject, obj, predicate=predicate), object_historical=True,
                 subject_historical=subject_historical)
    assert past_event_of_another(text, ev) is left_out
