"""The main condition of a note and the passages the models read (etl/conditions.py)."""
from types import SimpleNamespace

from etl.conditions import MainCondition, Passage, pick_main_condition
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
    assert main == MainCondition("乙状结肠腺癌", at, at + 6, 0.8)
    assert pick_main_condition(NOTE, windows, [[] for _ in windows]) is None


def test_one_character_or_padded_answers_are_no_diagnosis():
    window = Window(0, len(NOTE), NOTE)
    assert pick_main_condition(NOTE, [window], [[span(2, 3, 0.9)]]) is None
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
