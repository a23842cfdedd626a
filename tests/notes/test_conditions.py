"""The main condition of a note and the passages the models read (etl/notes/conditions.py)."""
from types import SimpleNamespace

import pytest

from etl.notes.conditions import MainCondition, Passage, pick_main_condition, stated_topic, statement_items
from etl.windows import Window, make_windows

NOTE = "患者无明显诱因出现血便，门诊以“乙状结肠腺癌”收入。于2013-02-04行乙状结肠癌切除术。术后给予XELOX方案化疗。"


def span(start, end, score):
    return SimpleNamespace(start=start, end=end, score=score)


def test_the_best_answer_over_the_windows_is_the_main_condition_at_its_place():
    windows = make_windows(NOTE, 30, 5)
    assert len(windows) > 1
    at = NOTE.index("乙状结肠腺癌")
    answers = []
    for w in windows:
        found = []
        if w.start <= at and at + 6 <= w.end:
            found.append(span(at - w.start, at - w.start + 6, 0.8))
        if w.start <= NOTE.index("血便") < w.end - 2:
            found.append(span(NOTE.index("血便") - w.start, NOTE.index("血便") - w.start + 2, 0.3))
        answers.append(found)
    main = pick_main_condition(NOTE, windows, answers)
    assert main == MainCondition("乙状结肠腺癌", at, at + 6, 1.9)  # 0.8 + the admission statement's bonus (1.1)
    # no answer at all: the admission statement's first item still names it
    assert pick_main_condition(NOTE, windows, [[] for _ in windows]).name == "乙状结肠腺癌"
    plain = "患者无明显诱因出现血便。"
    assert pick_main_condition(plain, [Window(0, len(plain), plain)], [[]]) is None


def test_one_character_or_padded_answers_are_no_diagnosis():
    text = "患者无明显诱因出现血便。"
    window = Window(0, len(text), text)
    assert pick_main_condition(text, [window], [[span(2, 3, 0.9)]]) is None
    text = "诊断为 胃癌。"
    padded = Window(0, len(text), text)
    assert pick_main_condition(text, [padded], [[span(3, 6, 0.9)]]) is None  # " 胃癌"
    assert pick_main_condition(text, [padded], [[span(3, 6, 0.9), span(4, 6, 0.5)]]).name == "胃癌"


def test_a_passage_reads_the_window_after_the_main_condition_and_maps_spans_back():
    at = NOTE.index("乙状结肠腺癌")
    main = MainCondition("乙状结肠腺癌", at, at + 6, 0.9)
    start = NOTE.index("术后给予")
    window = Window(start, len(NOTE), NOTE[start:])
    passage = Passage(window, main)
    assert passage.text == "乙状结肠腺癌@" + window.text
    prefix = len(passage.prefix)
    regimen = passage.text.index("XELOX方案")
    assert passage.place(regimen, regimen + 7) == (NOTE.index("XELOX方案"), NOTE.index("XELOX方案") + 7)
    assert passage.place(0, 6, "乙状结肠腺癌") == (at, at + 6)  # the prefix is the main condition's place
    assert passage.place(2, 6) == (at + 2, at + 6)  # part of the prefix: that part of its place
    assert passage.place(prefix - 2, prefix + 2) is None  # across the topic mark
    # a subject equal to the main condition found inside the window goes to the main place too
    inner = Passage(Window(0, len(NOTE), NOTE), main)
    second = inner.text.index("乙状结肠腺癌", prefix)
    assert inner.place(second, second + 6, "乙状结肠腺癌") == (at, at + 6)


def test_a_text_that_already_carries_its_topic_gets_no_second_prefix_and_no_condition_none():
    text = "急性胰腺炎@腹痛、恶心。"
    main = MainCondition("急性胰腺炎", 0, 5, 0.9)
    assert Passage(Window(0, len(text), text), main).text == text
    plain = Passage(Window(10, 10 + len(text), text), None)
    assert plain.text == text and plain.place(6, 8) == (16, 18)


@pytest.mark.parametrize("text, names", [
    ("门诊以“乙状结肠腺癌”收入结直肠科", [("乙状结肠腺癌", 1.1)]),
    ('门诊以\\"1、低血糖症；2、腔隙性脑梗死；3、高血压病？\\"收入', [("低血糖症", 1.1), ("腔隙性脑梗死", 0.5),
                                                                ("高血压病", 0.5)]),  # the note's own \"
    ("诊断为“胃炎 冠心病”，予对症治疗", [("胃炎", 0.6), ("冠心病", 0.3)]),
    ("遂以高血压病收入我科", [("高血压病", 1.1)]),
    ("急诊未做特殊处理，以骨盆骨折收入院", [("骨盆骨折", 1.1)]),  # unquoted, after the clause's comma
    ("于2017年1月2日11：27以肠系膜淋巴结炎收入院。", [("肠系膜淋巴结炎", 1.1)]),  # after the time
    ("门诊以狭窄性腱鞘炎介绍入院", [("狭窄性腱鞘炎", 1.1)]),  # 介绍 (referred) is no part of the name
    ("门诊检查后以1、不全性肠梗阻2、直肠癌术后收入我科。",  # 不全 is no denial
     [("不全性肠梗阻", 1.1), ("直肠癌", 0.5)]),
    ("即以1.头皮裂伤。2.头皮血肿。3.腔隙性脑梗死收住入院。",
     [("头皮裂伤", 1.1), ("头皮血肿", 0.5), ("腔隙性脑梗死", 0.5)]),
    ("以1.多处软组织损伤。2.头外伤后神经反应。3.左侧基底节区腔隙性脑梗死。4.高血压病。收住入院。",  # 。 before 收
     [("多处软组织损伤", 1.1), ("头外伤后神经反应", 0.5), ("左侧基底节区腔隙性脑梗死", 0.5), ("高血压病", 0.5)]),
    ("急诊科以1.直肠癌术后2.腹痛腹胀原因待查3.肠梗阻？收入院。",  # after the department's 科
     [("直肠癌", 1.1), ("腹痛腹胀原因待查", 0.5), ("肠梗阻", 0.5)]),
    ("门诊以喘息性-支气管炎于2017年02月08日13:58收入院。", [("喘息性-支气管炎", 1.1)]),  # the time before 收
    ("12:52门诊以1、疱疹性咽峡炎；2、热性惊厥收入院。", [("疱疹性咽峡炎", 1.1), ("热性惊厥", 0.5)]),  # ； between items
    ("以后再说，收入", []),  # 以后 is a word
    ("诊断为“不除外胃癌”", []),
    ("于2016年12月18日10:29以1、急性化脓性扁桃体炎2、急性支气管炎收入院",
     [("急性化脓性扁桃体炎", 1.1), ("急性支气管炎", 0.5)]),
    ("急诊拟“消化道出血、失血性贫血”收入", [("消化道出血", 0.6), ("失血性贫血", 0.3)]),
    ("予以抗感染治疗后症状好转", []),  # 以 that states nothing
    ("予以“坎地沙坦酯片 每次4mg”控制血压，以“头晕待查”收入", [("头晕待查", 1.1)]),  # 予以“X”: a drug given
    ("门诊以“腹痛待查：阑尾炎？”收入", [("腹痛待查", 0.5), ("阑尾炎", 1.1)]),  # the working diagnosis
    ("以“头晕待查”收入我科", [("头晕待查", 1.1)]),
    ("以“肝癌术后”收入", [("肝癌", 1.1)]),  # 术后 closes the disease's name
    ("术后病理：宫颈中-低分化鳞状细胞癌，累及", [("宫颈中-低分化鳞状细胞癌", 0.2)]),
    ("术后病理胃腺癌（中-低分化）", [("胃腺癌", 0.2)]),
    ("病理示癌细胞", []),
    ("活检病理：未见癌", []),  # a denial names no diagnosis
    ("考虑胆囊癌。", [("胆囊癌", 0.2)]),
    ("于我院行直肠癌根治术(距肛缘10CM)", [("直肠癌", 0.25)]),
    ("行胃癌姑息切除术后", [("胃癌", 0.25)]),
    ("行剖腹探查术+远端胃癌根治术", [("胃癌", 0.25)]),
    ("行腹腔镜上乙状结肠癌根治术", [("乙状结肠癌", 0.25)]),
    ("我院行全麻上前列腺癌根治术", [("前列腺癌", 0.25)]),
    ("在全麻上行接受肝癌切除+胆囊切除", [("肝癌", 0.25)]),  # the second of two operations; 远端 is the operation's
    ("术后病理：右附件卵巢组织内可见脉管癌栓；", []),  # a tumour thrombus seen is no diagnosis
    ("诊断为“高血压、糖尿病等”", [("高血压", 0.6), ("糖尿病", 0.3)]),
    ("患者因“腹痛3天”入院", []),  # a complaint, not a diagnosis
    ("入院后诊断为：1.肠梗阻2.直肠癌麦氏术后3.胃癌。给予禁食水", [("肠梗阻", 0.9), ("直肠癌麦氏", 0.3), ("胃癌", 0.3)]),
    ("诊断：1、右侧胸部刀刺伤；2、2型糖尿病。", [("右侧胸部刀刺伤", 0.9), ("2型糖尿病", 0.3)]),  # to the sentence's end
    ("诊断：急性胃肠炎。", []),  # no quotes, no numbered list
    ("入院诊断：1.高血压病3级 2.2型糖尿病\n诊疗计划：予以降压、降糖治疗", [("高血压病", 0.9), ("2型糖尿病", 0.3)]),
    # where a listed name ends though its item goes on: no EMR-RE subject holds ？, 术后, a bracket,
    # a stage or a grade, and the part before 伴 / 并 is the subject
    ("诊断为“脑梗死？TIA”", [("脑梗死", 0.6)]),
    ("以“宫颈癌术后化疗”收入", [("宫颈癌", 1.1)]),
    ("以“胃癌伴转移”收入", [("胃癌", 1.1)]),
    ("以“左上肺周围型肺癌并两肺转移”收入", [("左上肺周围型肺癌", 1.1)]),
    ("以“妊娠合并亚临床甲减”收入", [("妊娠合并亚临床甲减", 1.1)]),
    ("以“瘢痕子宫（前次剖宫产）”收入", [("瘢痕子宫", 1.1)]),
    ("以“慢性肾脏病5期”收入", [("慢性肾脏病", 1.1)]),
    ("以“原发性高血压3级极高危”收入", [("原发性高血压", 1.1)]),
    ("以“妊娠期糖尿病，妊娠40+3周孕5产1LO先兆临产”收入", [("妊娠期糖尿病", 1.1), ("先兆临产", 0.5)]),  # a
    ("以“妊娠40+6周孕1产0LO”收入", []),  # pregnancy's description is no name
    ("诊断为：1.上呼吸道感染2.热性惊厥？静点氨曲南抗感染，炎琥宁抗感染", [("上呼吸道感染", 0.9), ("热性惊厥", 0.3)]),
    ("鉴别诊断：1.胃溃疡 2.胃癌", []),  # diagnoses set aside
    ("门诊以“肺部感染、否认冠心病”收入", [("肺部感染", 1.1)]),  # a denial names no diagnosis
])
def test_diagnosis_statements_list_their_names(text, names):
    assert [(text[a:b], round(bonus, 3)) for a, b, bonus in statement_items(text)] == names


def test_a_past_illness_named_more_plainly_loses_to_the_admission_name():
    text = "门诊以“骨质疏松症”收治入院。2型糖尿病12+年，口服二甲双胍。"
    window = Window(0, len(text), text)
    at, past = text.index("骨质疏松症"), text.index("2型糖尿病")
    main = pick_main_condition(text, [window], [[span(past, past + 5, 0.40), span(at, at + 5, 0.36)]])
    assert (main.name, main.start) == ("骨质疏松症", at)


def test_an_edit_of_the_conditions_code_changes_the_span_models_run_time_version():
    from etl.models.folder import module_source, source_fingerprint
    from etl.models.spans.model import CONDITION_MODULES

    code = module_source("etl.notes.conditions")

    def edited(text):
        return lambda name: text if name == "etl.notes.conditions" else module_source(name)

    assert source_fingerprint(CONDITION_MODULES) == source_fingerprint(CONDITION_MODULES, edited(code))
    changed = code.replace(b"ITEM_SCORE = 0.3", b"ITEM_SCORE = 0.4")
    assert changed != code
    assert source_fingerprint(CONDITION_MODULES, edited(changed)) != source_fingerprint(CONDITION_MODULES)


def test_a_weak_best_answer_is_no_main_condition():
    text = "查体：心界不大，肛门无畸形，双下肢无水肿。"  # a physical exam names no diagnosis
    window = Window(0, len(text), text)
    at = text.index("肛门无畸形")
    assert pick_main_condition(text, [window], [[span(at, at + 5, 0.014)]]) is None
    assert pick_main_condition(text, [window], [[span(at, at + 5, 0.5)]]).name == "肛门无畸形"
    date = "２０１６－１０－１３ １８时入院。"
    assert pick_main_condition(date, [Window(0, len(date), date)], [[span(0, 13, 0.9)]]) is None  # no letters


@pytest.mark.parametrize("text, topic", [
    ("急性胰腺炎@腹痛、恶心。行胃癌根治术。", ("急性胰腺炎", 0, 5)),  # its own topic, not a statement's
    ("@腹痛", None),
    ("患者腹痛3天。", None),
    ("2019@12", None),  # no name
])
def test_a_cmeie_style_text_states_its_own_topic(text, topic):
    found = stated_topic(text)
    assert (found.name, found.start, found.end, found.stated) == (*topic, True) if topic else found is None


def test_a_complaint_under_investigation_yields_to_the_diagnosis_the_note_names_later():
    text = "门诊以腹痛待查收住我科，给予抗感染。后门诊以胆囊结石伴急性胆囊炎收住院。"
    window = Window(0, len(text), text)
    assert pick_main_condition(text, [window], [[]]).name == "胆囊结石"
    alone = "门诊以腹痛待查收住我科，给予抗感染。"
    assert pick_main_condition(alone, [Window(0, len(alone), alone)], [[]]).name == "腹痛待查"


def test_a_complaint_under_investigation_keeps_the_note_when_a_diagnosis_told_before_did_not_settle_it():
    text = ("在卫生院就诊，诊断为“1.慢性胃窦炎；2.急性支气管炎。”给予对症处理后腹部胀痛无缓解。"
            "门诊以“腹痛待查”收入我科。")
    assert pick_main_condition(text, [Window(0, len(text), text)], [[]]).name == "腹痛待查"


@pytest.mark.parametrize("text, name", [
    ("伤后胸痛。查体：左面部可见一4X3cm皮肤挫伤，胸廓挤压痛。", "皮肤挫伤"),
    ("给予腰椎牵引。4、患者入院前门诊检查心电图示：窦性心动过速，肢导低电压倾向。", "窦性心动过速"),  # an ECG's reading
])
def test_a_name_told_in_passing_is_no_main_condition(text, name):
    at = text.index(name)
    assert pick_main_condition(text, [Window(0, len(text), text)], [[span(at, at + len(name), 0.9)]]) is None


def test_an_ecg_reading_the_note_states_as_its_diagnosis_stays_a_candidate():
    text = "心电图示：心房纤颤。门诊以心房纤颤收入。"
    at = text.index("心房纤颤")
    main = pick_main_condition(text, [Window(0, len(text), text)], [[span(at, at + 4, 0.9)]])
    assert (main.name, main.start) == ("心房纤颤", text.rindex("心房纤颤"))


def test_a_past_illness_the_model_answers_is_no_main_condition():
    text = "2、脑梗死病史3年，遗留右侧肢体活动障碍。3、1周前出现咳嗽、咳痰。"
    window = Window(0, len(text), text)
    at = text.index("脑梗死")
    assert pick_main_condition(text, [window], [[span(at, at + 3, 0.9)]]) is None
    cough = text.index("咳嗽")  # a current finding's disease would be, had the model answered one
    assert pick_main_condition(text, [window], [[span(at, at + 3, 0.9), span(cough, cough + 2, 0.5)]]).name == "咳嗽"


def test_an_operated_disease_listed_beside_the_new_problem_is_no_main_condition():
    text = "查腹平片示：肠梗阻。门诊检查后以1、不全性肠梗阻2、直肠癌术后收入我科。"
    window = Window(0, len(text), text)
    at = text.index("直肠癌")
    assert pick_main_condition(text, [window], [[span(at, at + 3, 0.9)]]).name == "不全性肠梗阻"
    alone = "门诊以“直肠癌术后”收入。"  # alone it is the admission's name (a chemotherapy cycle)
    at = alone.index("直肠癌")
    assert pick_main_condition(alone, [Window(0, len(alone), alone)], [[span(at, at + 3, 0.9)]]).name == "直肠癌"
    apart = "以“肝癌术后”收入院。CT示肝左后叶占位，考虑为肝癌。"  # two statements, one name each
    assert pick_main_condition(apart, [Window(0, len(apart), apart)], [[]]).name == "肝癌"
