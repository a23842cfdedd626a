"""The relation classifier's lexical branch: features, logits layer, branch mix, save -> load."""
from __future__ import annotations

import json

import numpy as np
import pytest


def test_features_are_present_unigrams_and_frequent_bigrams_once_each():
    from etl.models.relation.lexical import LexicalFeatures

    # (1,2) and (2,3) occur in both texts; (3,2) in one only: below min_count 2
    lexical = LexicalFeatures.build([[1, 2, 3, 2, 3], [1, 2, 3]], vocab_size=10, min_count=2)
    assert lexical.size == 12 and lexical.keys.tolist() == [12, 23]
    ids = lexical.ids(np.array([[1, 2, 3, 2, 3, 0], [3, 2, 0, 0, 0, 0]]))
    assert ids.shape == (2, 11) and ids.dtype == np.int32
    # unigrams 1, 2, 3 as themselves; bigram (1,2) -> 10 + 1, (2,3) -> 10 + 2 (seen twice, kept once)
    assert sorted(ids[0][ids[0] > 0].tolist()) == [1, 2, 3, 11, 12]
    assert sorted(ids[1][ids[1] > 0].tolist()) == [2, 3]  # (3,2) is no feature; padding pairs neither
    assert LexicalFeatures([], 10).ids(np.array([[5, 5, 0]]))[0].tolist().count(5) == 1


def test_features_survive_save_and_load(tmp_path):
    from etl.models.relation.lexical import FILE, LexicalFeatures

    lexical = LexicalFeatures.build([[101, 7, 8, 102], [101, 7, 8, 9, 102]], vocab_size=200, min_count=2)
    lexical.save(tmp_path)
    assert (tmp_path / FILE).read_text(encoding="utf-8").splitlines() == ["7 8", "101 7"]
    loaded = LexicalFeatures.load(tmp_path, 200)
    batch = np.array([[101, 7, 8, 9, 102, 0]])
    np.testing.assert_array_equal(loaded.ids(batch), lexical.ids(batch))
    assert loaded.size == lexical.size == 202


def test_logits_are_the_scaled_sum_of_the_present_rows_plus_bias():
    from etl.compat import keras
    from etl.models.relation.lexical import LexicalLogits

    layer = LexicalLogits(features=4, labels=2, scale=10.0, l2=1e-3)
    ids = keras.layers.Input(shape=(None,), dtype="int32")
    model = keras.models.Model(ids, layer(ids))
    table = np.arange(10, dtype=np.float32).reshape(5, 2) / 10  # rows 0..4; row 0 = padding, never read
    bias = np.array([0.5, -0.5], dtype=np.float32)
    layer.set_weights([table, bias])
    out = model(np.array([[1, 3, 0], [0, 0, 0]], dtype=np.int32)).numpy()
    np.testing.assert_allclose(out[0], 10.0 * (table[1] + table[3] + bias), rtol=1e-6)
    np.testing.assert_allclose(out[1], 10.0 * bias, rtol=1e-6)  # a text without features: the bias alone
    # the L2 penalty acts on the effective weights: l2 * sum((scale * table)^2)
    np.testing.assert_allclose(float(sum(model.losses)), 1e-3 * 100.0 * float((table ** 2).sum()), rtol=1e-5)


def test_branch_mix_weights_the_encoder_by_w():
    from etl.compat import keras
    from etl.models.relation.lexical import BranchMix

    a, b = keras.layers.Input(shape=(3,)), keras.layers.Input(shape=(3,))
    mix = BranchMix()
    model = keras.models.Model([a, b], mix([a, b]))
    mix.encoder_weight.assign(0.3)
    encoder, lexical = np.array([[1.0, 0.0, 0.5]]), np.array([[0.0, 1.0, 0.5]])
    np.testing.assert_allclose(model([encoder, lexical]).numpy(), [[0.3, 0.7, 0.5]], rtol=1e-6)
    assert not mix.trainable_weights  # chosen on dev, never by gradient


@pytest.mark.slow  # `make test` only, not `make check`
def test_lexical_relation_model_saves_and_loads_identically(tmp_path, vocab_path, cmeie_samples, schema):
    """A lexical model trained a few steps (both branches, one loss each) -> folder -> same output."""
    from etl.compat import keras
    from etl.data.examples import relation_examples
    from etl.models.relation.lexical import LexicalFeatures
    from etl.models.relation.losses import make_loss
    from etl.models.relation.model import (MIX_LAYER, BucketBatches, RelationClassifier, branch_model,
                                     build_relation_model, encode_texts, label_matrix, save_relation_folder)
    from etl.models.tokens import load_tokenizer, trim_vocab
    from etl.models.training import make_optimizer
    from tests.models.relation.test_model import tiny_config

    examples = relation_examples(cmeie_samples[:24], schema)
    size = len(trim_vocab(vocab_path, [e.text for e in examples], tmp_path / "vocab.txt"))
    (tmp_path / "encoder_config.json").write_text(json.dumps(tiny_config(size)), encoding="utf-8")
    tokenizer = load_tokenizer(tmp_path / "vocab.txt")
    ids = encode_texts(tokenizer, [e.text for e in examples], 64)
    lexical = LexicalFeatures.build(ids, size, 2)
    keras.utils.set_random_seed(0)
    model, _ = build_relation_model(tmp_path / "encoder_config.json", None, "pool", 44,
                                    lexical_features=lexical.size, lexical_scale=10.0, lexical_l2=1e-4)
    branches = branch_model(model)
    assert branch_model(build_relation_model(tmp_path / "encoder_config.json", None, "pool", 44)[0]) is None
    y = label_matrix([e.labels for e in examples], 44)
    batches = BucketBatches(ids, y, (32, 64), 8, seed=0, lexical=lexical, outputs=2)
    inputs, targets = batches[0]
    assert len(inputs) == 3 and len(targets) == 2
    loss = make_loss("weighted_bce", y.sum(0), len(y))
    branches.compile(optimizer=make_optimizer(1e-3, 30, 0.1, 1.0), loss=[loss, loss])
    before = branches.evaluate(*batches[0], verbose=0)[0]
    branches.fit(batches, epochs=10, shuffle=False, verbose=0)
    assert branches.evaluate(*batches[0], verbose=0)[0] < before
    model.get_layer(MIX_LAYER).encoder_weight.assign(0.4)

    save_relation_folder(tmp_path, model, schema.predicate_names, "pool", (32, 64), 8, [0.5] * 44, {}, {},
                         lexical, 10.0)
    loaded = RelationClassifier.load(tmp_path)
    assert float(loaded.model.get_layer(MIX_LAYER).encoder_weight.numpy()) == np.float32(0.4)
    texts = [e.text for e in examples[:6]] + ["", "😀"]
    in_memory = RelationClassifier(model, tokenizer, schema.predicate_names, np.full(44, 0.5), (32, 64), 8,
                                   lexical=lexical)
    np.testing.assert_array_equal(loaded.probability_matrix(texts), in_memory.probability_matrix(texts))
    # the mix is what the model outputs: 0.4 * encoder + 0.6 * lexical
    padded = np.zeros((1, 64), dtype=np.int32)  # the bucket the predictor pads to (<= 64 tokens)
    padded[0, :len(ids[0])] = ids[0]
    encoder_p, lexical_p = (t.numpy() for t in branches([padded, np.zeros_like(padded), lexical.ids(padded)]))
    np.testing.assert_allclose(in_memory.probability_matrix([examples[0].text]),
                               0.4 * encoder_p + 0.6 * lexical_p, atol=1e-6)


def test_mix_weight_choice_and_its_crossfit_on_a_toy_case():
    from etl.models.relation.training import choose_mix, crossfit_mix

    rng = np.random.default_rng(0)
    y = rng.random((200, 3)) < 0.3
    lexical = np.where(y, 0.8, 0.2)  # separates perfectly at any threshold in (0.2, 0.8]
    encoder = rng.random((200, 3))  # noise
    weight, scores = choose_mix(y, encoder, lexical)
    assert weight < 0.5 and scores[weight] == 1.0 and scores[1.0] < 0.8
    assert crossfit_mix(y, encoder, lexical, min_support=50)["micro"]["f1"] == 1.0
    # swapped roles: the encoder branch is now the good one and gets the weight
    weight, _ = choose_mix(y, lexical, encoder)
    assert weight > 0.5
