"""The pretraining corpus: cleaning, splitting, dedup and, above all, no dev text."""
from __future__ import annotations

import json

import pytest

from etl.config import Settings
from etl.pretrain.corpus import build_corpus, clean, pack, read_corpus, sentences

DEV = "患者三天前无明显诱因出现发热，体温最高三十九度五，伴咳嗽咳痰。"


def build(tmp_path, sources, dev=(DEV,)):
    out = tmp_path / "corpus.txt"
    report = build_corpus(Settings(), out, max_chars=40,
                          sources={name: (lambda texts=texts: texts) for name, texts in sources.items()},
                          dev_texts=list(dev))
    return report, read_corpus(out)


def test_clean_folds_whitespace_and_drops_control_characters():
    assert clean(" 头痛\t\u200b伴\x07呕吐\n\n三天 ") == "头痛 伴呕吐 三天"


def test_sentences_split_on_terminators_and_cut_long_ones():
    assert sentences("头痛三天。伴呕吐！无。", 40) == ["头痛三天。", "伴呕吐！"]  # "无。" is too short
    assert [len(s) for s in sentences("甲" * 90, 40)] == [40, 40, 10]


def test_pack_joins_consecutive_sentences_up_to_the_limit():
    assert list(pack(["一二三。", "四五六。", "七八九十。"], 8)) == ["一二三。四五六。", "七八九十。"]


def test_dev_texts_and_their_sentences_are_excluded(tmp_path):
    report, lines = build(tmp_path, {
        "a": [DEV, "体温最高三十九度五，伴咳嗽咳痰。另有一句正常的话。", "乏力。", "高血压病史十年。"],
        "b": ["无明显诱因出现发热"],  # shorter than a 20-character run, but inside a dev text
    })
    text = "".join(lines)
    assert "发热" not in text and "咳痰" not in text  # whole dev text and a sentence sharing a run
    assert "另有一句正常的话。" in text and "高血压病史十年。" in text
    assert report.sources["a"].dev_overlap == 2 and report.sources["b"].dev_overlap == 1


def test_duplicates_are_written_once_across_sources(tmp_path):
    report, lines = build(tmp_path, {"a": ["高血压病史十年。", "高血压病史十年。"], "b": [" 高血压病史十年。"]})
    assert "".join(lines).count("高血压病史十年。") == 1
    assert report.sources["a"].duplicates == 1 and report.sources["b"].duplicates == 1
    saved = json.loads((tmp_path / "corpus.txt.json").read_text(encoding="utf-8"))
    assert saved["lines"] == len(lines) and saved["chars"] == sum(map(len, lines))


def test_real_sources_are_all_read(shared_data, tmp_path):
    """The default readers open every configured source (a few texts of each)."""
    from itertools import islice

    from pathlib import Path

    from etl.config import load_settings
    from etl.pretrain.corpus import source_texts

    settings = load_settings(Path(__file__).resolve().parents[2] / "config.toml", environ={})
    for name, read in source_texts(settings).items():
        assert len(list(islice(read(), 3))) == 3, name


def test_cli_builds_a_corpus_of_the_chosen_sources_only(shared_data, tmp_path):
    """`--source` narrows the corpus (task-adaptive pretraining); an unknown name is a usage error."""
    from pathlib import Path

    from click.testing import CliRunner

    from etl.cli import cli
    from etl.config import load_settings
    from etl.pretrain.corpus import source_texts

    config = Path(__file__).resolve().parents[2] / "config.toml"
    out = tmp_path / "cmeie.txt"
    result = CliRunner().invoke(cli, ["--config", str(config), "pretrain", "corpus", "--out", str(out),
                                      "--source", "cmeie_unlabeled"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.with_name("cmeie.txt.json").read_text(encoding="utf-8"))
    assert list(report["sources"]) == ["cmeie_unlabeled"] and report["lines"] > 1000
    assert report["sources"]["cmeie_unlabeled"]["dev_overlap"] > 0  # the dev split is still kept out
    bad = CliRunner().invoke(cli, ["--config", str(config), "pretrain", "corpus", "--out", str(out), "--source", "x"])
    assert bad.exit_code == 1 and "cmeie_train" in bad.output  # EXIT_USAGE
    with pytest.raises(ValueError, match="unknown corpus sources"):
        source_texts(load_settings(config, environ={}), ["nope"])
