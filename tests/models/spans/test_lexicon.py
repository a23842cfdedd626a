"""Entity lexicon features: building with folds, B/I/E flags on real WordPiece offsets, save/load,
the batch layout, and the encoder input that starts out changing nothing."""
from __future__ import annotations

import json

import numpy as np
import pytest

from etl.data.cmeee import Entity, NerSample
from etl.data.cmeie import Sample, Triple
from etl.errors import DataError
from etl.models.spans.lexicon import FOLDS, Lexicon
from etl.models.tokens import token_offsets
from etl.models.spans.data import QuestionEncoder, make_batch
from etl.models.tokens import load_tokenizer
from tests.tiny_models import TINY_ENCODER

TYPES = ["疾病", "症状"]


@pytest.fixture(scope="module")
def tokenizer(vocab_path):
    return load_tokenizer(str(vocab_path))


def cmeie(text, *triples):
    return Sample(text, tuple(Triple(s, st, "临床表现", o, ot) for s, st, o, ot in triples))


def ner(text, *entities):
    return NerSample(text, tuple(Entity(text.index(e), text.index(e) + len(e), code, e) for e, code in entities))


def channel(lexicon, name, flag):
    return 3 * lexicon.channels.index(name) + "BIE".index(flag)


def test_flags_mark_begin_inside_end_per_type_on_wordpiece_offsets(tokenizer):
    lexicon, _, _ = Lexicon.build(TYPES, [cmeie("x", ("Graves 病", "疾病", "FT3 升高", "症状"),
                                                 ("病", "疾病", "高", "症状"),
                                                 ("糖\t尿病", "疾病", "多\n饮", "症状"))],
                                  [ner("FT3 升高", ("FT3 升高", "sym"))])
    # single characters are left out, and strings that would break lexicon.tsv's lines
    assert set(lexicon.entries) == {"Graves 病", "FT3 升高"}
    text = "患Graves 病，FT3 升高。"
    tokens, offsets = token_offsets(tokenizer, text)
    flags = lexicon.flags(text, offsets)
    assert flags.shape == (len(tokens), 3 * (len(lexicon.channels) + 1)) and flags.dtype == np.uint8  # + q:subject

    def marked(name, flag):  # token indices with this flag on this channel
        return list(np.flatnonzero(flags[:, channel(lexicon, name, flag)]))

    for entity, names in (("Graves 病", ["ie:疾病"]), ("FT3 升高", ["ie:症状", "ee:sym"])):
        start, end = text.index(entity), text.index(entity) + len(entity)
        inside = [i for i, (a, b) in enumerate(offsets) if start <= a and b <= end]  # WordPiece pieces
        assert len(inside) >= 3 and text[offsets[inside[0]][0]:offsets[inside[-1]][1]] == entity
        for name in names:  # marked on every channel that gave the string
            assert marked(name, "B") == inside[:1] and marked(name, "E") == inside[-1:]
            assert marked(name, "I") == inside[1:-1]
    total = sum(len(inside) for inside in ([i for i, (a, b) in enumerate(offsets)
                                            if text.index(e) <= a and b <= text.index(e) + len(e)]
                                           for e in ("Graves 病", "FT3 升高", "FT3 升高")))
    assert flags.sum() == total  # one flag per token of each match: 患, the punctuation and ee:dis stay zero


def test_a_training_text_does_not_see_what_only_its_own_fold_gave():
    # distinct texts longer than the 20-character overlap run; text FOLDS shares text 0's fold
    texts = [f"病例{i}：" + "".join(chr(0x4E00 + 40 * i + k) for k in range(25)) for i in range(FOLDS + 1)]
    samples = [cmeie(text, (f"病{i}号", "疾病", "咳嗽", "症状")) for i, text in enumerate(texts)]
    # a CMeEE sentence repeating a CMeIE text (20 shared characters) takes that text's fold
    repeated = ner("前言" + texts[2] + "，病2号", ("病2号", "dis"))
    lexicon, folds, cmeee_folds = Lexicon.build(TYPES, samples, [repeated, ner("肺炎", ("肺炎", "dis"))])
    assert folds == [0, 1, 2, 3, 4, 0] and cmeee_folds == [2, 1]
    text = "病0号 病1号 病2号 咳嗽 肺炎"
    offsets = [(i, i + 1) for i in range(len(text))]

    def found(fold):
        flags = lexicon.flags(text, offsets, fold)
        return {text[i:j + 1] for i in range(len(text)) for j in range(i, len(text))
                if flags[i, 0::3].any() and flags[j, 2::3].any() and " " not in text[i:j + 1]}

    everything = {"病0号", "病1号", "病2号", "咳嗽", "肺炎"}
    assert found(None) == everything  # dev / run time: the whole lexicon
    assert found(0) == everything - {"病0号"}  # only fold 0 (texts 0 and 5) gave 病0号
    assert found(2) == everything - {"病2号"}  # the CMeEE repeat of text 2 is fold 2 too
    assert found(1) == everything - {"病1号", "肺炎"}  # 肺炎: the second CMeEE sentence, fold 1
    assert found(3) == everything  # 咳嗽: every fold gave it; 病3号 is not in the text


def test_save_load_keeps_the_flags(tmp_path, tokenizer):
    lexicon, _, _ = Lexicon.build(TYPES, [cmeie("x", ("糖尿病", "疾病", "多饮", "症状"))],
                                  [ner("糖尿病", ("糖尿病", "dis"))])
    lexicon.save(tmp_path / "lexicon.tsv")
    again = Lexicon.load(tmp_path / "lexicon.tsv")
    assert again.channels == lexicon.channels and len(again) == 2
    text = "糖尿病的表现为多饮、多尿。"
    _, offsets = token_offsets(tokenizer, text)
    assert np.array_equal(again.flags(text, offsets), lexicon.flags(text, offsets))
    (tmp_path / "bad.tsv").write_text("糖尿病\tie:疾病\n", encoding="utf-8")
    with pytest.raises(DataError, match="not a lexicon file"):
        Lexicon.load(tmp_path / "bad.tsv")
    (tmp_path / "bad.tsv").write_text("#channels\tie:疾病\n糖尿病\tie:药物\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.tsv:2: bad lexicon line"):
        Lexicon.load(tmp_path / "bad.tsv")


def test_batches_carry_the_flags_on_passage_rows_only(tokenizer):
    lexicon, _, _ = Lexicon.build(TYPES, [cmeie("x", ("糖尿病", "疾病", "多饮", "症状"))])
    encoder = QuestionEncoder(tokenizer, 32, lexicon)
    item = encoder.encode("哪些疾病有临床表现？", "糖尿病的表现为多饮。")
    batch = make_batch([item], 32, rows=2)
    first = item.passage_start
    assert batch["lexicon"].shape == (2, 32, lexicon.features)
    assert batch["lexicon"][0, :first].sum() == 0 and batch["lexicon"][1].sum() == 0
    assert np.array_equal(batch["lexicon"][0, first:first + len(item.offsets)], item.lexicon)
    assert batch["lexicon"][0].sum() == 5  # 糖尿病: B, I, E; 多饮: B, E
    assert "lexicon" not in make_batch([QuestionEncoder(tokenizer, 32).encode("问", "糖尿病")], 32)


@pytest.mark.slow  # `make test` only, not `make check`
def test_token_features_start_as_a_no_op_on_a_pretrained_encoder(tmp_path, vocab_path):
    from etl.models.encoder import build_encoder, export_checkpoint_folder, scratch_config

    config = scratch_config(TINY_ENCODER, sum(1 for _ in open(vocab_path, encoding="utf-8")))
    (tmp_path / "c.json").write_text(json.dumps(config), encoding="utf-8")
    folder = export_checkpoint_folder(build_encoder("electra", tmp_path / "c.json"), tmp_path / "ckpt", config,
                                      vocab_path, "electra_config.json")
    plain = build_encoder("electra", folder.config, folder.checkpoint).model
    featured = build_encoder("electra", folder.config, folder.checkpoint, token_features=6).model
    ids, segments = np.array([[101, 300, 400, 500, 102, 0]]), np.zeros((1, 6))
    features = np.random.default_rng(0).integers(0, 2, (1, 6, 6)).astype(np.float32)
    expected = plain.predict([ids, segments], verbose=0)
    assert np.allclose(featured.predict([ids, segments, features], verbose=0), expected, atol=1e-6)
    layer = featured.get_layer("Embedding-Token-Features")
    layer.set_weights([np.full_like(layer.get_weights()[0], 0.1)])
    assert not np.allclose(featured.predict([ids, segments, features], verbose=0), expected, atol=1e-3)


def test_a_turn_two_question_flags_the_subject_it_names(tokenizer):
    lexicon, _, _ = Lexicon.build(TYPES, [cmeie("x", ("糖尿病", "疾病", "多饮", "症状"))])
    encoder = QuestionEncoder(tokenizer, 64, lexicon)
    text = "糖尿病的表现为多饮；2型糖尿病也是。"
    subject = 3 * len(lexicon.channels)  # the q:subject channel's B column
    plain = encoder.encode("哪些疾病有临床表现？", text)
    asked = encoder.encode("糖尿病有哪些临床表现？", text, subject="糖尿病")
    assert plain.lexicon[:, subject:].sum() == 0
    marked = [(a, b) for (a, b), on in zip(asked.offsets, asked.lexicon[:, subject]) if on]
    assert [text[a:a + 3] for a, _ in marked] == ["糖尿病", "糖尿病"]  # both occurrences
    assert asked.lexicon[:, subject:].sum() == 6  # B, I, E twice
    assert np.array_equal(asked.lexicon[:, :subject], plain.lexicon[:, :subject])  # the lexicon part is shared
    assert encoder.passage(text)[2][:, subject:].sum() == 0  # the cached passage flags are not touched
