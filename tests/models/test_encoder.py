"""stage_encoder: the encoder config + vocab a new model folder starts from (scratch or checkpoint)."""
from __future__ import annotations

import json

import pytest

from etl.config import Settings, replace
from etl.errors import ConfigError
from tests.tiny_models import TINY_ENCODER

TEXTS = ["肺炎@咳嗽、发热", "糖尿病的临床表现为多饮"]


def spans_settings(**changes):
    values = {f"spans__encoder__{k}": v for k, v in vars(TINY_ENCODER).items()}
    values.update(spans__encoder_checkpoint="", spans__buckets=(32, 64))
    values.update(changes)
    return replace(Settings(), **values).spans


def test_from_scratch_trims_the_vocab_to_the_texts(tmp_path, vocab_path):
    from etl.models.encoder import stage_encoder

    assert stage_encoder("spans", spans_settings(), vocab_path, TEXTS, tmp_path) is None
    vocab = (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()
    config = json.loads((tmp_path / "encoder_config.json").read_text(encoding="utf-8"))
    assert {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "肺", "饮"} <= set(vocab) and len(vocab) < 100
    assert config["vocab_size"] == len(vocab) and config["hidden_size"] == TINY_ENCODER.hidden_size


def test_from_a_checkpoint_folder_copies_its_config_and_full_vocab(tmp_path, vocab_path):
    from etl.models.encoder import build_encoder, export_checkpoint_folder, scratch_config, stage_encoder

    config = scratch_config(TINY_ENCODER, sum(1 for _ in open(vocab_path, encoding="utf-8")))
    (tmp_path / "c.json").write_text(json.dumps(config), encoding="utf-8")
    export_checkpoint_folder(build_encoder("electra", tmp_path / "c.json"), tmp_path / "ckpt", config, vocab_path,
                             "electra_config.json")
    staging = tmp_path / "staging"
    staging.mkdir()
    checkpoint = stage_encoder("spans", spans_settings(spans__encoder_checkpoint=tmp_path / "ckpt"), vocab_path,
                               TEXTS, staging)
    assert checkpoint == tmp_path / "ckpt" / "model.ckpt"
    assert (staging / "vocab.txt").read_bytes() == vocab_path.read_bytes()  # no trimming
    assert json.loads((staging / "encoder_config.json").read_text(encoding="utf-8")) == config


def test_errors_name_the_setting(tmp_path, vocab_path):
    from etl.models.encoder import stage_encoder

    with pytest.raises(ConfigError, match="data.vocab not found"):
        stage_encoder("spans", spans_settings(), tmp_path / "none.txt", TEXTS, tmp_path)
    with pytest.raises(ConfigError, match=r"spans.buckets: 128 exceeds the encoder's 64 positions"):
        stage_encoder("spans", spans_settings(spans__buckets=(64, 128)), vocab_path, TEXTS, tmp_path)
    with pytest.raises(ConfigError, match="encoder checkpoint folder not found"):
        stage_encoder("spans", spans_settings(spans__encoder_checkpoint=tmp_path / "none"), vocab_path, TEXTS,
                      tmp_path)
