"""Smoke test of the stack: tiny ALBERT and ELECTRA built from config by bert4keras, one batch,
and the Google-checkpoint round trip the compatibility module repairs."""
import json

import numpy as np
import pytest


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("model_type", ["albert", "electra"])
def test_tiny_encoder_runs_one_batch_and_round_trips(tmp_path, model_type, vocab_path):
    from etl.compat import tf  # noqa: F401  (must come first)
    from etl.models.encoder import build_encoder, export_checkpoint_folder, find_checkpoint_folder
    from etl.models.tokens import load_tokenizer, pad_to

    tokenizer = load_tokenizer(vocab_path)
    config = dict(vocab_size=len(tokenizer._token_dict), hidden_size=32, num_hidden_layers=2,
                  num_attention_heads=2, intermediate_size=64, embedding_size=16, hidden_act="gelu",
                  max_position_embeddings=64, type_vocab_size=2, hidden_dropout_prob=0.1,
                  attention_probs_dropout_prob=0.1, initializer_range=0.02)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    encoder = build_encoder(model_type, config_path)
    ids = [tokenizer.encode(text)[0] for text in ("患者发热三天。", "CT示肺炎")]
    tokens, segments = pad_to(ids, 16), np.zeros((2, 16), dtype=np.int32)
    out = encoder.model.predict([tokens, segments], verbose=0)
    assert out.shape == (2, 16, 32) and np.isfinite(out).all()

    folder = export_checkpoint_folder(encoder, tmp_path / "ckpt", config, vocab_path)
    assert find_checkpoint_folder(tmp_path / "ckpt") == folder
    again = build_encoder(model_type, folder.config, folder.checkpoint)
    np.testing.assert_array_equal(again.model.predict([tokens, segments], verbose=0), out)


def test_environment_is_set_before_tensorflow():
    import os

    import etl.compat  # noqa: F401

    assert os.environ["TF_KERAS"] == "1" and os.environ["TF_USE_LEGACY_KERAS"] == "1"
    from etl.compat import keras

    assert keras.__name__.startswith("tf_keras")

