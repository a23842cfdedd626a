"""MLM pretraining of tiny encoders (hidden 32, 2 layers): learns, resumes, exports loadable folders."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from etl.config import Settings, replace
from etl.errors import ConfigError
from tests.tiny_models import TINY_ENCODER


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow

OPTS = dict(batch_size=8, learning_rate=5e-3, warmup_ratio=0.0, buckets=(32, 64), save_every=5,
            heldout_every=8, heldout_max=8)


@pytest.fixture(scope="module")
def corpus(shared_data, tmp_path_factory) -> Path:
    from etl.pretrain.corpus import build_corpus

    lines = (shared_data / "corpus" / "medical_text.txt").read_text(encoding="utf-8").splitlines()[:40]
    out = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    build_corpus(Settings(), out, 60, sources={"corpus": lambda: lines}, dev_texts=[])
    return out


@pytest.fixture(scope="module")
def settings(vocab_path):
    return replace(Settings(), data__vocab=vocab_path)


def run(settings, model, corpus, out, steps, resume=False):
    from etl.pretrain.mlm import MlmOptions, pretrain_mlm

    lines = []
    metrics = pretrain_mlm(settings, model, corpus, out, MlmOptions(steps=steps, **OPTS), resume=resume,
                           encoder_settings=TINY_ENCODER, log=lines.append)
    return metrics, lines


@pytest.fixture(scope="module")
def albert_runs(settings, corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("albert") / "albert"
    first, _ = run(settings, "albert", corpus, out, 5)
    again, log_again = run(settings, "albert", corpus, out, 5, resume=True)  # nothing left: restore only
    last, log_last = run(settings, "albert", corpus, out, 25, resume=True)
    return out, first, again, log_again, last, log_last


def test_mask_row_masks_whole_words_and_never_cls_sep():
    from etl.pretrain.mlm import mask_row

    ids = np.array([2, 10, 11, 12, 13, 3])  # [CLS] 头 ##a 痛 ## [SEP]
    starts = np.array([True, True, False, True, False, True])
    for seed in range(20):
        inputs, targets = mask_row(ids, starts, np.random.default_rng(seed), 0.5, 4, 5, 100)
        assert targets[0] == targets[-1] == 0 and inputs[0] == 2 and inputs[-1] == 3
        assert (targets[1] > 0) == (targets[2] > 0) and (targets[3] > 0) == (targets[4] > 0)
        assert targets.any()
        assert np.all(targets[targets > 0] == ids[targets > 0])


def test_loss_covers_exactly_the_masked_positions(tmp_path):
    from etl.compat import tf
    from etl.models.encoder import scratch_config
    from etl.pretrain.mlm import build_mlm_model, masked_loss_accuracy

    config = tmp_path / "albert_config.json"
    config.write_text(json.dumps(scratch_config(TINY_ENCODER, 50)), encoding="utf-8")
    model, _ = build_mlm_model("albert", config)
    rng = np.random.default_rng(0)
    inputs = rng.integers(5, 50, (3, 7)).astype(np.int32)
    targets = np.zeros_like(inputs)
    masked = [(0, 1), (0, 5), (2, 3)]  # row 1 has none
    for r, c in masked:
        targets[r, c] = rng.integers(5, 50)
    every = np.array([(r, c) for r in range(3) for c in range(7)], dtype=np.int32)
    logits = model([inputs, np.zeros_like(inputs), every], training=False).numpy().reshape(3, 7, -1)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.mean([log_probs[r, c, targets[r, c]] for r, c in masked])
    hits = np.mean([logits[r, c].argmax() == targets[r, c] for r, c in masked])
    loss, accuracy, count = masked_loss_accuracy(model, tf.constant(inputs), tf.constant(targets), False)
    assert int(count) == 3
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert float(accuracy) == pytest.approx(hits)


def test_training_lowers_the_loss_and_resume_continues(albert_runs):
    out, first, again, log_again, last, log_last = albert_runs
    assert first["steps"] == 5 and last["steps"] == 25
    assert again["heldout"] == first["heldout"]  # weights restored exactly
    assert any("steps 5 -> 5" in line for line in log_again)  # optimizer step restored
    assert any("steps 5 -> 25" in line for line in log_last)
    assert last["heldout"]["loss"] < first["heldout"]["loss"] - 0.05
    saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert saved["steps"] == 25 and saved["heldout"]["masked_tokens"] > 0


def test_fresh_run_refuses_an_existing_run_and_resume_needs_one(albert_runs, settings, corpus, tmp_path):
    with pytest.raises(ConfigError, match="--resume"):
        run(settings, "albert", corpus, albert_runs[0], 5)
    with pytest.raises(ConfigError, match="no training state"):
        run(settings, "albert", corpus, tmp_path / "none", 5, resume=True)


def _same_embeddings(model, checkpoint, name):
    import tensorflow as tf

    saved = tf.train.load_variable(str(checkpoint), name)
    assert np.array_equal(model.get_layer("Embedding-Token").get_weights()[0], saved)


def test_exported_albert_loads_unchanged_and_into_the_relation_model(albert_runs):
    from bert4keras.models import build_transformer_model

    from etl.models.encoder import find_checkpoint_folder
    from etl.models.relation.model import build_relation_model

    folder = find_checkpoint_folder(albert_runs[0])
    assert folder.config.name == "albert_config.json"
    encoder = build_transformer_model(str(folder.config), str(folder.checkpoint), model="albert")
    _same_embeddings(encoder, folder.checkpoint, "bert/embeddings/word_embeddings")
    model, _ = build_relation_model(folder.config, folder.checkpoint, "pool", 44)
    _same_embeddings(model, folder.checkpoint, "bert/embeddings/word_embeddings")
    assert model.predict([np.array([[2, 10, 3]]), np.zeros((1, 3))], verbose=0).shape == (1, 44)


def test_electra_pretrains_and_loads_as_electra_and_span_model(settings, corpus, tmp_path):
    from bert4keras.models import build_transformer_model

    from etl.models.encoder import find_checkpoint_folder
    from etl.models.spans.model import build_model

    metrics, _ = run(settings, "electra", corpus, tmp_path / "electra", 5)
    assert metrics["heldout"]["masked_tokens"] > 0
    folder = find_checkpoint_folder(tmp_path / "electra")
    assert folder.config.name == "electra_config.json"
    encoder = build_transformer_model(str(folder.config), str(folder.checkpoint), model="electra")
    _same_embeddings(encoder, folder.checkpoint, "electra/embeddings/word_embeddings")
    _same_embeddings(build_model(folder.config, folder.checkpoint), folder.checkpoint,
                     "electra/embeddings/word_embeddings")


def test_init_checkpoint_continues_an_exported_encoder_on_new_text(albert_runs, settings, corpus, tmp_path):
    """--init-checkpoint: a new run from an exported folder keeps its vocab and config and starts
    from its weights (a new corpus, a fresh optimizer); it refuses a folder of another layout."""
    from etl.compat import tf
    from etl.pretrain.mlm import MlmOptions, pretrain_mlm

    source, *_ = albert_runs
    name = "bert/embeddings/word_embeddings"

    def weights(folder):
        return tf.train.load_variable(str(folder / "model.ckpt"), name)

    start = pretrain_mlm(settings, "albert", corpus, tmp_path / "start", MlmOptions(steps=0, **OPTS),
                         encoder_settings=TINY_ENCODER, log=lambda line: None, init_checkpoint=source)
    assert start["steps"] == 0 and np.array_equal(weights(tmp_path / "start"), weights(source))
    out = tmp_path / "continued"
    metrics = pretrain_mlm(settings, "albert", corpus, out, MlmOptions(steps=5, **OPTS),
                           encoder_settings=TINY_ENCODER, log=lambda line: None, init_checkpoint=source)
    assert metrics["init_checkpoint"] == str(source) and metrics["steps"] == 5
    assert (out / "vocab.txt").read_bytes() == (source / "vocab.txt").read_bytes()
    assert (out / "albert_config.json").read_bytes() == (source / "albert_config.json").read_bytes()
    assert not np.array_equal(weights(out), weights(source))  # and then it trains
    with pytest.raises(ConfigError, match="electra_config.json"):
        pretrain_mlm(settings, "electra", corpus, tmp_path / "wrong", MlmOptions(steps=1, **OPTS),
                     encoder_settings=TINY_ENCODER, init_checkpoint=source)
