import random

import pytest

from etl.windows import make_windows, sentence_bounds


def test_short_text_is_one_window():
    assert [(w.start, w.end) for w in make_windows("患者发热。", 200, 40)] == [(0, 5)]
    assert make_windows("", 200, 40) == []


def test_sentences_are_packed_with_overlap():
    text = "甲" * 50 + "。" + "乙" * 50 + "。" + "丙" * 50 + "。" + "丁" * 50 + "。"
    windows = make_windows(text, max_chars=110, overlap_chars=60)
    assert [(w.start, w.end) for w in windows] == [(0, 102), (51, 153), (102, 204)]
    for w in windows:
        assert text[w.start:w.end] == w.text and len(w.text) <= 110


def test_long_sentence_is_cut_hard_with_overlap():
    text = "字" * 500
    windows = make_windows(text, max_chars=200, overlap_chars=40)
    assert [(w.start, w.end) for w in windows] == [(0, 200), (160, 360), (320, 500)]


@pytest.mark.slow  # `make test` only, not `make check`
@pytest.mark.parametrize("seed", range(30))
def test_random_texts_are_covered_exactly(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice("病人发热咳嗽。；！\nabc 12") for _ in range(rng.randint(1, 2000)))
    max_chars = rng.randint(20, 300)
    overlap = rng.randint(0, max_chars - 1)
    windows = make_windows(text, max_chars, overlap)
    assert windows[0].start == 0 and windows[-1].end == len(text)
    for before, after in zip(windows, windows[1:]):
        assert before.start < after.start <= before.end  # progress, no gap
    for w in windows:
        assert text[w.start:w.end] == w.text and 0 < len(w.text) <= max_chars
    assert "".join(text[a:b] for a, b in sentence_bounds(text)) == text
