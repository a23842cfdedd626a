"""Relation classifier: tiny encoder (hidden 32, 2 layers), a few dozen real CMeIE samples."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from etl.config import load_settings


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow

TINY = {
    "relation.encoder.hidden_size": "32",
    "relation.encoder.num_hidden_layers": "2",
    "relation.encoder.num_attention_heads": "2",
    "relation.encoder.intermediate_size": "64",
    "relation.encoder.embedding_size": "16",
    "relation.encoder.max_position_embeddings": "128",
    "relation.buckets": "32,64",
    "relation.batch_size": "16",
}


def tiny_config(vocab_size: int) -> dict:
    return {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
            "embedding_size": 16, "max_position_embeddings": 128, "vocab_size": vocab_size,
            "hidden_act": "gelu", "type_vocab_size": 2, "initializer_range": 0.02,
            "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, vocab_path, cmeie_samples, schema):
    """A vocab trimmed to 40 real texts and a tiny from-scratch model, trained a few steps."""
    from etl.compat import keras
    from etl.data.examples import relation_examples
    from etl.models.relation.model import BucketBatches, build_relation_model, encode_texts, label_matrix
    from etl.models.tokens import load_tokenizer, trim_vocab

    folder = tmp_path_factory.mktemp("relation")
    examples = relation_examples(cmeie_samples[:40], schema)
    size = len(trim_vocab(vocab_path, [e.text for e in examples], folder / "vocab.txt"))
    (folder / "encoder_config.json").write_text(json.dumps(tiny_config(size)), encoding="utf-8")
    keras.utils.set_random_seed(0)
    model, _ = build_relation_model(folder / "encoder_config.json", None, "pool", len(schema.predicate_names))
    tokenizer = load_tokenizer(str(folder / "vocab.txt"))
    ids = encode_texts(tokenizer, [e.text for e in examples], 64)
    y = label_matrix([e.labels for e in examples], len(schema.predicate_names))
    batches = BucketBatches(ids, y, (32, 64), 8, seed=0)
    return {"folder": folder, "model": model, "batches": batches, "examples": examples, "size": size}


def test_trimmed_vocab_keeps_specials_and_maps_unseen_to_unk(tiny_folder, vocab_path):
    from etl.models.tokens import load_tokenizer

    lines = (tiny_folder["folder"] / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[PAD]" and {"[UNK]", "[CLS]", "[SEP]", "[MASK]"} <= set(lines)
    assert 100 < tiny_folder["size"] == len(lines) < 21128
    tokenizer = load_tokenizer(str(tiny_folder["folder"] / "vocab.txt"))
    ids, _ = tokenizer.encode("😀𠀀")
    assert ids[1:-1] == [tokenizer.token_to_id("[UNK]")] * 2


def test_few_steps_reduce_the_loss(tiny_folder):
    from etl.models.relation.losses import make_loss
    from etl.models.training import make_optimizer

    model, batches = tiny_folder["model"], tiny_folder["batches"]
    counts = batches.y.sum(0)
    model.compile(optimizer=make_optimizer(3e-3, 60, 0.1, 1.0),
                  loss=make_loss("weighted_bce", counts, len(batches.y)))

    def mean_loss():
        return float(np.mean([model.evaluate(*batches[i], verbose=0) for i in range(len(batches))]))

    before = mean_loss()
    model.fit(batches, epochs=len(batches) and 60 // len(batches), shuffle=False, verbose=0)
    after = mean_loss()
    assert after < 0.8 * before, (before, after)


def test_batches_use_fixed_buckets(tiny_folder):
    batches = tiny_folder["batches"]
    shapes = {batches[i][0][0].shape[1] for i in range(len(batches))}
    assert shapes <= {32, 64}
    assert sum(len(batches[i][1]) for i in range(len(batches))) == len(batches.y)


def test_token_dropout_replaces_only_text_tokens():
    from etl.models.relation.model import BucketBatches

    ids = [[101] + list(range(200, 230)) + [102], [101, 7, 102]]
    batches = BucketBatches(ids, np.zeros((2, 44), np.float32), (8, 64), 4, seed=0, token_dropout=0.5, unk_id=100)
    rows = {int((row > 0).sum()): row for i in range(len(batches)) for row in batches[i][0][0]}
    long, short = rows[32], rows[3]
    assert long[0] == 101 and long[31] == 102 and not long[32:].any()  # [CLS], [SEP], padding kept
    assert 5 < (long[1:31] == 100).sum() < 25
    assert set(short[:3]) <= {101, 100, 7, 102} and short[0] == 101 and short[2] == 102


def _save(tiny_folder, schema, thresholds=None):
    from etl.models.relation.model import save_relation_folder

    labels = schema.predicate_names
    thresholds = thresholds if thresholds is not None else [0.5] * len(labels)
    return save_relation_folder(tiny_folder["folder"], tiny_folder["model"], labels, "pool", (32, 64), 8,
                                thresholds, {"relation": {}}, {"note": "test"})


def test_save_load_identical_predictions(tiny_folder, schema):
    from etl.models.folder import read_version
    from etl.models.relation.model import RelationClassifier
    from etl.models.tokens import load_tokenizer

    version = _save(tiny_folder, schema)
    folder = tiny_folder["folder"]
    texts = [e.text for e in tiny_folder["examples"][:12]]
    in_memory = RelationClassifier(tiny_folder["model"], load_tokenizer(str(folder / "vocab.txt")),
                                   schema.predicate_names, np.full(44, 0.5), (32, 64), 8)
    loaded = RelationClassifier.load(folder)
    assert loaded.version == version == read_version(folder) and version.startswith("relation-")
    np.testing.assert_array_equal(loaded.probability_matrix(texts), in_memory.probability_matrix(texts))
    # order-independent: one text alone gives the same row as inside a mixed-bucket batch
    np.testing.assert_allclose(loaded.probability_matrix(texts[3:4])[0], loaded.probability_matrix(texts)[3],
                               atol=1e-6)


def test_predict_uses_the_saved_thresholds(tiny_folder, schema):
    from etl.models.relation.model import RelationClassifier

    labels = schema.predicate_names
    thresholds = [0.0] * len(labels)
    thresholds[labels.index("临床表现")] = 1.01  # never reached
    _save(tiny_folder, schema, thresholds)
    classifier = RelationClassifier.load(tiny_folder["folder"])
    probs, found = classifier.probabilities(["肺炎@咳嗽"])[0], classifier.predict(["肺炎@咳嗽"])[0]
    assert list(probs) == list(labels) and all(0.0 <= v <= 1.0 for v in probs.values())
    assert set(found) == set(labels) - {"临床表现"} and found["同义词"] == probs["同义词"]


def test_note_thresholds_decide_the_notes_passages_and_re_version_the_folder(tiny_folder, schema):
    from etl.models.folder import changed_since_training, folder_version, read_version
    from etl.models.relation.model import NOTE_THRESHOLDS_FILE, RelationClassifier, save_note_thresholds

    labels = schema.predicate_names
    before = _save(tiny_folder, schema, [1.0] * len(labels))  # a sigmoid never reaches 1.0 here
    folder = tiny_folder["folder"]
    classifier = RelationClassifier.load(folder)
    assert classifier.note_thresholds is None
    ids = classifier.encode(["肺炎@咳嗽", "肺炎@咳嗽"])
    assert classifier.predict_encoded(ids, [True, False]) == [{}, {}]  # no note thresholds: one set for all

    version = save_note_thresholds(folder, classifier, 0.0, 0.25, {"grid": []})
    assert version != before and version == read_version(folder) == folder_version("relation", folder)
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["note_thresholds"]["scale"] == 0.0 and metrics["version"] == version
    loaded = RelationClassifier.load(folder)
    assert loaded.note_min_score == 0.25 and classifier.note_min_score == 0.0
    as_note, as_text = loaded.predict_encoded(ids, [True, False])
    assert set(as_note) == set(labels) and as_text == {}
    assert loaded.predict_encoded(ids) == [{}, {}]  # no flags: every text is decided as a CMeIE text
    (folder / NOTE_THRESHOLDS_FILE).write_text(json.dumps({"thresholds": {labels[0]: 0.5}}), encoding="utf-8")
    assert changed_since_training("relation", folder) is not None  # the version covers the file
    (folder / NOTE_THRESHOLDS_FILE).unlink()


def test_edge_texts_predict(tiny_folder, schema):
    from etl.models.relation.model import RelationClassifier

    _save(tiny_folder, schema)
    classifier = RelationClassifier.load(tiny_folder["folder"])
    long_text = "糖尿病患者多饮多尿，" * 60  # 600 characters: far beyond the largest bucket (64 tokens)
    texts = ["", long_text, "😀𠀀ꙮ\u200b", "ＡＢＣ abc 123 %", "肺炎"]
    assert [len(ids) for ids in classifier.predictor.token_ids(texts)][:2] == [2, 64]  # truncated
    result = classifier.probabilities(texts)
    assert len(result) == len(texts) and all(len(r) == 44 for r in result)
    assert all(np.isfinite(list(r.values())).all() for r in result)
    # the truncated text scores as its first 64 tokens do
    head = classifier.predictor.tokenizer.decode(classifier.predictor.token_ids([long_text])[0])
    np.testing.assert_allclose(classifier.probability_matrix([long_text]), classifier.probability_matrix([head]),
                               atol=1e-5)
    assert classifier.predict([]) == [] and classifier.probabilities([]) == []


def test_albert_base_zh_layout_checkpoint_loads(tmp_path, vocab_path):
    """A random encoder saved as albert_base_zh is (albert_config.json, model.ckpt-best.*,
    vocab.txt, ALBERT variable names) reloads through the training path with identical outputs."""
    from etl.compat import keras, tf
    from etl.models.encoder import build_encoder, export_checkpoint_folder, find_checkpoint_folder
    from etl.models.relation.model import build_relation_model

    config = tiny_config(21128)
    (tmp_path / "c.json").write_text(json.dumps(config), encoding="utf-8")
    keras.utils.set_random_seed(1)
    original = build_encoder("albert", tmp_path / "c.json", None, with_pool=True)
    export_checkpoint_folder(original, tmp_path / "albert_base_zh", config, vocab_path, "albert_config.json")
    for path in (tmp_path / "albert_base_zh").glob("model.ckpt.*"):
        path.rename(path.with_name(path.name.replace("model.ckpt", "model.ckpt-best")))
    found = find_checkpoint_folder(tmp_path / "albert_base_zh")
    assert found.config.name == "albert_config.json" and found.checkpoint.name == "model.ckpt-best"
    names = {name for name, _ in tf.train.list_variables(str(found.checkpoint))}
    assert "bert/embeddings/word_embeddings" in names
    assert "bert/encoder/transformer/group_0/inner_group_0/attention_1/self/query/kernel" in names
    assert "bert/pooler/dense/kernel" in names

    keras.utils.set_random_seed(2)  # different random init: everything must come from the checkpoint
    model, encoder = build_relation_model(found.config, found.checkpoint, "cls", 44)
    ids = np.array([[101, 1922, 4567, 102, 0, 0]], dtype=np.int32)
    inputs = [ids, np.zeros_like(ids)]
    np.testing.assert_array_equal(encoder.model(inputs, training=False).numpy(),
                                  original.model(inputs, training=False).numpy())
    assert model(inputs).shape == (1, 44)


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory, shared_data):
    """`etl train relation` end to end on 48 texts, 1 epoch, a tiny encoder."""
    from etl.cli import cli

    out = tmp_path_factory.mktemp("cli") / "relation"
    config = out.with_name("config.toml")  # independent of the project's config.toml
    config.write_text("# built-in defaults\n", encoding="utf-8")
    overrides = dict(TINY, **{"data.cmeie_labeled": str(shared_data / "cmeie" / "cmeie_labeled.jsonl"),
                              "data.vocab": str(shared_data / "vocab" / "chinese_bert_vocab.txt"),
                              "data.cmeee_train": str(shared_data / "cmeee" / "cmeee_train.txt"),
                              "data.dev_size": "60",
                              "relation.pretrain_epochs": "1", "relation.pretrain_max_samples": "40",
                              "relation.notes": "false"})
    args = ["--config", str(config)]
    args += [item for key, value in overrides.items() for item in ("--set", f"{key}={value}")]
    result = CliRunner().invoke(cli, args + ["train", "relation", "--out", str(out), "--epochs", "1",
                                             "--max-train", "48", "--head", "cnn_pool"])
    return result, out, args


def test_cli_train_relation(cli_model):
    result, out, _ = cli_model
    assert result.exit_code == 0, result.output
    assert "epoch 1: dev" in result.output and "micro F1" in result.output and "macro F1" in result.output
    names = {p.name for p in out.iterdir()}
    assert {"encoder_config.json", "vocab.txt", "weights.h5", "labels.json", "thresholds.json",
            "settings.json", "metrics.json", "version.txt", "bigrams.txt"} <= names
    assert not out.with_name("relation.partial").exists()
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["train_texts"] == 48 and metrics["dev_texts"] == 60 and metrics["train_seconds"] > 0
    assert metrics["pretraining"]["sentences"] == 40 and len(metrics["pretraining"]["loss"]) == 1
    assert "pre-training the encoder on CMeEE" in result.output
    for key in ("dev_at_0.5", "dev_tuned_thresholds_crossfit", "dev_mix_and_thresholds_crossfit"):
        assert set(metrics[key]["micro"]) == {"precision", "recall", "f1"}
        assert set(metrics[key]["macro"]) == {"precision", "recall", "f1"}
    labels = json.loads((out / "labels.json").read_text(encoding="utf-8"))
    assert labels["head"] == "cnn_pool" and len(labels["labels"]) == 44
    # the lexical branch is on by default: each branch's figure is logged, the mix weight is kept
    assert labels["lexical"] is True and "lexical alone" in result.output
    assert metrics["encoder_weight"] in [i / 10 for i in range(11)] and metrics["lexical_features"] > 1000
    assert {"encoder_alone", "lexical_alone", "encoder_weight"} <= set(metrics["history"][0])
    settings = json.loads((out / "settings.json").read_text(encoding="utf-8"))
    assert settings["relation"]["encoder"]["hidden_size"] == 32


def test_cli_predict_relations(cli_model, tmp_path):
    from etl.cli import cli

    result, out, args = cli_model
    assert result.exit_code == 0, result.output
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "肺炎@咳嗽、发热", "spo_list": []}\n\n{"text": ""}\n', encoding="utf-8")
    target = tmp_path / "out.jsonl"
    run = CliRunner().invoke(cli, args + ["predict", "relations", "--model", str(out), "--input", str(source),
                                          "--output", str(target), "--all"])
    assert run.exit_code == 0, run.output
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == ["肺炎@咳嗽、发热", ""]
    assert all(len(r["relations"]) == 44 and r["model"].startswith("relation-") for r in rows)

    lines = tmp_path / "in.txt"
    lines.write_text("肺炎@咳嗽\n糖尿病\n", encoding="utf-8")
    run = CliRunner().invoke(cli, args + ["predict", "relations", "--model", str(out), "--input", str(lines)])
    assert run.exit_code == 0, run.output
    assert [json.loads(line)["text"] for line in run.output.splitlines() if line.startswith("{")] == ["肺炎@咳嗽",
                                                                                                       "糖尿病"]


def test_cli_predict_errors(tmp_path):
    from etl.cli import cli

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"no_text": 1}\n', encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    run = CliRunner().invoke(cli, ["--config", str(config), "predict", "relations",
                                   "--model", str(tmp_path / "missing"), "--input", str(bad)])
    assert run.exit_code == 1 and "relation model folder not found" in run.output
    (tmp_path / "m").mkdir()
    run = CliRunner().invoke(cli, ["--config", str(config), "predict", "relations",
                                   "--model", str(tmp_path / "m"), "--input", str(bad)])
    assert run.exit_code == 1 and "incomplete" in run.output


def test_settings_defaults_are_valid():
    settings = load_settings(None, environ={})
    assert settings.relation.loss in {"bce", "weighted_bce", "focal"}
    assert settings.relation.max_train_samples == 0 and settings.relation.trim_vocab


def test_scratch_encoder_kernels_are_not_identical(tmp_path):
    """etl.compat: bert4keras' shared initializer must not give Q, K, V, O the same start values."""
    from etl.compat import keras
    from etl.models.encoder import build_encoder

    (tmp_path / "c.json").write_text(json.dumps(tiny_config(100)), encoding="utf-8")
    keras.utils.set_random_seed(3)
    encoder = build_encoder("albert", tmp_path / "c.json", None)
    kernels = [w.numpy() for w in encoder.model.weights
               if "MultiHeadSelfAttention/dense" in w.name and "kernel" in w.name]
    assert len(kernels) == 4
    assert not any(np.array_equal(kernels[i], kernels[j]) for i in range(4) for j in range(i + 1, 4))


def test_cmeee_pretraining_data(shared_data, vocab_path):
    from etl.data.cmeee import Entity, NerSample
    from etl.models.relation.pretrain import TYPES, cmeee_pretraining_samples, token_tags
    from etl.models.tokens import load_tokenizer

    tokenizer = load_tokenizer(str(vocab_path))
    sample = NerSample("ABC肺炎咳嗽", (Entity(3, 5, "dis", "肺炎"), Entity(3, 7, "sym", "肺炎咳嗽")))
    ids, tags = token_tags(tokenizer, sample, 64)
    assert len(ids) == len(tags) == 7  # [CLS] abc 肺 炎 咳 嗽 [SEP]
    dis, sym = TYPES.index("dis"), TYPES.index("sym")
    assert tags[2, dis] == tags[2, sym] == 1 and tags[4, dis] == 0 and tags[4, sym] == 1
    assert tags[[0, 1, 6]].sum() == 0

    path = shared_data / "cmeee" / "cmeee_train.txt"
    first = cmeee_pretraining_samples(path, [], max_samples=5)
    assert len(first) == 5
    # a text sharing a 20-character run with an excluded (dev) text is dropped
    excluded = "前缀" + first[0].text[:25] + "后缀"
    kept = cmeee_pretraining_samples(path, [excluded], max_samples=5)
    assert len(first[0].text) < 20 or first[0].text not in [k.text for k in kept]


def test_cli_train_relation_on_annotated_notes(cli_model, tmp_path, shared_data):
    """`--notes` / `--dev-notes` (EMR-RE files): the notes' windows, read as the pipeline reads
    them, join the CMeIE texts in training and dev."""
    from etl.cli import cli

    _, _, args = cli_model
    notes, dev_notes = tmp_path / "notes.jsonl", tmp_path / "dev.jsonl"
    for source, target, count in (("emr_re_train.jsonl", notes, 3), ("emr_re_dev.jsonl", dev_notes, 2)):
        lines = (shared_data / "emr_re" / source).read_text(encoding="utf-8").splitlines()[:count]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "relation"
    result = CliRunner().invoke(cli, args + ["--set", "relation.pretrain_epochs=0", "train", "relation",
                                             "--out", str(out), "--epochs", "1", "--max-train", "20",
                                             "--notes", str(notes), "--dev-notes", str(dev_notes)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    windows = metrics["notes"]
    assert windows["train_windows"] >= 3 and windows["dev_windows"] >= 2
    assert metrics["train_texts"] == 20 + windows["train_windows"]
    assert metrics["dev_texts"] == 60 + windows["dev_windows"]
    bad = CliRunner().invoke(cli, args + ["train", "relation", "--out", str(out), "--without-notes",
                                          "--notes", str(notes)])
    assert bad.exit_code == 1 and "exclude each other" in bad.output

    # --tune-notes: the scale of its thresholds chosen end to end on the dev notes (the configured
    # span and assertion models), written into the folder, which gets a new version
    trained = (out / "version.txt").read_text(encoding="utf-8").strip()
    result = CliRunner().invoke(cli, args + ["--set", "relation.note_scale_grid=0.5", "--set",
                                             "relation.note_min_score_grid=0.2", "train", "relation",
                                             "--tune-notes", "--out", str(out), "--dev-notes", str(dev_notes)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    tuned = metrics["note_thresholds"]
    assert [(row["scale"], row["min_triple_score"]) for row in tuned["grid"]] == [  # the baseline is always measured
        (0.5, 0.0), (0.5, 0.2), (1.0, 0.0), (1.0, 0.2)]
    assert (tuned["scale"], tuned["min_triple_score"]) in [(r["scale"], r["min_triple_score"]) for r in tuned["grid"]]
    assert tuned["notes"] == 2 and all(row["strict"]["gold"] > 0 for row in tuned["grid"])
    assert metrics["version"] == (out / "version.txt").read_text(encoding="utf-8").strip() != trained
    saved = json.loads((out / "note_thresholds.json").read_text(encoding="utf-8"))
    assert saved["scale"] == tuned["scale"] and saved["min_triple_score"] == tuned["min_triple_score"]
    note_thresholds = saved["thresholds"]
    thresholds = json.loads((out / "thresholds.json").read_text(encoding="utf-8"))
    assert note_thresholds.keys() == thresholds.keys()
    assert all(abs(note_thresholds[k] - v * tuned["scale"]) <= 1e-4 for k, v in thresholds.items())
    bad = CliRunner().invoke(cli, args + ["train", "relation", "--tune-notes", "--out", str(out), "--epochs", "2"])
    assert bad.exit_code == 1 and "trains nothing" in bad.output
