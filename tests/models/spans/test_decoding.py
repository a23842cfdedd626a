"""Span extractor bookkeeping without TensorFlow: offsets, labels, masks, decoding, negatives."""
from __future__ import annotations

import numpy as np
import pytest

from etl.data.cmeie import Sample, Triple, find_spans
from etl.data.cmeee import Entity, NerSample
from etl.data.examples import mrc_examples
from etl.models.spans.pointers import char_spans_to_tokens, decode_pointers
from etl.models.tokens import token_offsets
from etl.models.spans.data import (QuestionEncoder, batches, cmeee_examples, drop_overlapping, make_batch,
                                  negative_examples)
from etl.models.tokens import load_tokenizer

TEXTS = [
    "Graves 病的临床表现包括FT3 升高、心率 120次/分。",
    "患者 CT示ABC123，血压120/80mmHg（正常值：＜140/90）。",
    "Ｘ线 检查：双肺纹理增粗； IgA肾病 (IgAN) 常见于青年。",
]
SPANS = ["Graves 病", "FT3 升高", "心率 120次/分", "CT", "ABC123", "120/80mmHg", "＜140/90", "Ｘ线 检查",
         "IgA肾病 (IgAN)", "IgA肾病"]


@pytest.fixture(scope="module")
def tokenizer(vocab_path):
    return load_tokenizer(str(vocab_path))


def test_token_offsets_slice_the_original_text(tokenizer):
    for text in TEXTS:
        tokens, offsets = token_offsets(tokenizer, text)
        assert len(tokens) == len(offsets)
        for token, (start, end) in zip(tokens, offsets):
            piece = text[start:end]
            assert piece and not piece[0].isspace() and not piece[-1].isspace()
            if token != "[UNK]":
                assert piece.lower() == token.removeprefix("##")
        assert all(a[1] <= b[0] for a, b in zip(offsets, offsets[1:]))  # in order, never overlapping


def test_gold_spans_round_trip_through_tokens_exactly(tokenizer):
    """char span -> token pointers -> decoded char span gives the same characters back,
    for spans with inner spaces, full-width punctuation, Latin words and digits."""
    checked = 0
    for text in TEXTS:
        _, offsets = token_offsets(tokenizer, text)
        for needle in SPANS:
            for span in find_spans(text, needle):
                (first, last), = char_spans_to_tokens(offsets, [span])[0]
                start_probs, end_probs = np.zeros(len(offsets)), np.zeros(len(offsets))
                start_probs[first], end_probs[last] = 0.9, 0.8
                decoded, = decode_pointers(start_probs, end_probs, offsets)
                assert (decoded.start, decoded.end) == span
                assert text[decoded.start:decoded.end] == needle
                assert decoded.score == pytest.approx(0.72)
                checked += 1
    assert checked >= len(SPANS)


def test_unknown_characters_get_offsets(tokenizer):
    """Out-of-vocabulary pieces become [UNK] ids but keep their characters (rematch maps them)."""
    text = "肺\U00020000病 见 a\u2ff0b x🧬y 患者"
    tokens, offsets = token_offsets(tokenizer, text)
    unk = tokenizer.token_to_id("[UNK]")
    assert tokenizer.tokens_to_ids(tokens).count(unk) >= 2
    assert [text[a:b] for a, b in offsets] == ["肺", "\U00020000", "病", "见", "a\u2ff0b", "x🧬y", "患", "者"]


def test_decoder_nearest_end_thresholds_length_and_nesting():
    offsets = [(i, i + 1) for i in range(10)]
    starts = np.array([0.9, 0, 0.7, 0, 0, 0.95, 0.4, 0, 0, 0])
    ends = np.array([0, 0, 0, 0.9, 0, 0, 0.3, 0, 0, 0.8])
    spans = decode_pointers(starts, ends, offsets, 0.5, 0.5, max_span_len=5)
    # 0 -> 3 and 2 -> 3 (nested, sharing the end), 5 -> 9 (5 tokens); 6 is below threshold
    assert [(s.start, s.end) for s in spans] == [(0, 4), (2, 4), (5, 10)]
    assert decode_pointers(starts, ends, offsets, 0.5, 0.5, max_span_len=4)[-1].end == 4  # 5->9 too long
    assert decode_pointers(starts, ends, offsets, 0.99, 0.5) == []
    assert decode_pointers(np.zeros(10), ends, offsets) == []


def test_decoder_never_spans_a_sentence_terminator(tokenizer):
    from etl.models.spans.pointers import barrier_token_ids

    text = "无症状;高血压。头痛"
    tokens, offsets = token_offsets(tokenizer, text)
    ids = np.array(tokenizer.tokens_to_ids(tokens))
    barriers = np.isin(ids, barrier_token_ids(tokenizer))
    assert [text[a:b] for (a, b), wall in zip(offsets, barriers) if wall] == [";", "。"]
    starts, ends = np.zeros(len(offsets)), np.zeros(len(offsets))
    starts[[0, 4]], ends[[6, 9]] = 0.9, 0.9  # 无 -> 压 crosses ";", 高 -> 压 does not
    spans = decode_pointers(starts, ends, offsets, barriers=barriers)
    assert [text[s.start:s.end] for s in spans] == ["高血压"]
    assert [text[s.start:s.end] for s in decode_pointers(starts, ends, offsets)] == ["无症状;高血压", "高血压"]


def test_commas_list_separators_and_markup_are_barriers_too(tokenizer):
    from etl.models.spans.pointers import barrier_token_ids

    text = "痛风@恶心、呕吐，发热,头痛"
    tokens, offsets = token_offsets(tokenizer, text)
    ids = np.array(tokenizer.tokens_to_ids(tokens))
    barriers = np.isin(ids, barrier_token_ids(tokenizer))
    assert [text[a:b] for (a, b), wall in zip(offsets, barriers) if wall] == ["@", "、", "，", ","]
    starts, ends = np.zeros(len(offsets)), np.zeros(len(offsets))
    starts[[0, 3, 6, 9]], ends[[4, 10]] = 0.9, 0.9  # 痛 -> 心 crosses @, 呕 -> 热 crosses ，
    spans = decode_pointers(starts, ends, offsets, barriers=barriers)
    assert [text[s.start:s.end] for s in spans] == ["恶心", "发热"]
    assert len(decode_pointers(starts, ends, offsets)) == 4


def test_encoding_masks_only_passage_tokens_and_places_labels(tokenizer):
    encoder = QuestionEncoder(tokenizer, 64)
    text = TEXTS[0]
    item = encoder.encode("哪些疾病有临床表现？", text, find_spans(text, "FT3 升高"))
    batch = make_batch([item], 64, rows=4)
    query_len = item.passage_start
    assert batch["token_ids"].shape == (4, 64) and batch["labels"].shape == (4, 64, 2)
    mask = batch["mask"][0]
    assert mask[:query_len].sum() == 0 and mask[query_len:query_len + len(item.offsets)].all()
    assert mask[query_len + len(item.offsets):].sum() == 0  # final [SEP] and padding
    assert batch["mask"][1:].sum() == 0  # filler rows carry no loss
    assert (batch["segment_ids"][0, :query_len] == 0).all() and batch["segment_ids"][0, query_len] == 1
    (first, last), = item.token_spans
    assert batch["labels"][0, query_len + first, 0] == 1 and batch["labels"][0, query_len + last, 1] == 1
    assert batch["labels"].sum() == 2
    start, end = item.offsets[first][0], item.offsets[last][1]
    assert text[start:end] == "FT3 升高"


def test_truncation_drops_spans_past_the_kept_tokens(tokenizer):
    encoder = QuestionEncoder(tokenizer, 16)
    text = "甲" * 30 + "乙"
    item = encoder.encode("问", text, [(30, 31), (0, 1)])
    assert len(item.token_ids) == 16 and item.dropped == 1 and item.token_spans == [(0, 0)]


def test_batches_have_fixed_shapes(tokenizer):
    encoder = QuestionEncoder(tokenizer, 128)
    items = [encoder.encode("问", t * n) for t in TEXTS for n in (1, 2)]
    result = batches(items, (64, 128), 4)
    assert sorted(i for indices, _ in result for i in indices) == list(range(len(items)))
    assert all(b["token_ids"].shape[0] == 4 and b["token_ids"].shape[1] in (64, 128) for _, b in result)


def test_negative_and_cmeee_questions(schema):
    sample = Sample("糖尿病的临床表现为多饮。", (
        Triple("糖尿病", "疾病", "临床表现", "多饮", "症状", subject_spans=((0, 3),), object_spans=((9, 11),)),))
    negatives = negative_examples([sample] * 20, schema, per_text=1, seed=0)
    assert negatives and all(not e.spans for e in negatives)
    assert all(e.predicate != "临床表现" for e in negatives if e.turn == 1)
    assert all(e.subject == "多饮" for e in negatives if e.turn == 2)  # 糖尿病 is a real subject
    assert len(mrc_examples([sample], schema)) == 2  # the converter itself is unchanged
    ner = NerSample("发热伴咳嗽", (Entity(0, 2, "sym", "发热"), Entity(3, 5, "sym", "咳嗽")))
    questions = cmeee_examples([ner])
    assert questions[0].query == "找出文本中的症状" and questions[0].spans == ((0, 2), (3, 5))
    assert len(questions) == 2 and questions[1].spans == ()
    dev_text = "前言" + "患者反复发热三天伴咳嗽咳痰，体温最高三十九度" + "后记"
    kept = drop_overlapping([ner, NerSample("患者反复发热三天伴咳嗽咳痰，体温最高三十九度。", ())], [dev_text])
    assert kept == [ner]  # the sentence sharing a 20-character run with a dev text is dropped
