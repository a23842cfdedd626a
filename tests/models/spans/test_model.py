"""Span extractor with a tiny ELECTRA (hidden 32, 2 layers): loss masking, training, pairing,
save/load, the multi-turn assembly, and the CLI (train, predict, evaluate end to end)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from etl.config import Settings, replace
from etl.data.cmeie import Sample, Triple, find_spans
from etl.models.spans.pointers import PointerSpan


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow

TINY = dict(spans__encoder_checkpoint="",  # a tiny encoder from scratch, whatever the configured default
            spans__encoder__hidden_size=32, spans__encoder__num_hidden_layers=2,
            spans__encoder__num_attention_heads=2, spans__encoder__intermediate_size=64,
            spans__encoder__embedding_size=32, spans__encoder__hidden_dropout_prob=0.0,
            spans__encoder__attention_probs_dropout_prob=0.0)
TINY_SET = ["--set", "spans.encoder_checkpoint=", "--set", "spans.encoder.hidden_size=32",
            "--set", "spans.encoder.num_hidden_layers=2", "--set", "spans.encoder.num_attention_heads=2",
            "--set", "spans.encoder.intermediate_size=64", "--set", "spans.encoder.embedding_size=32"]

# Two diseases, each with its own symptoms; and a text with spaces, Latin words and digits.
PAIRING_TEXT = "糖尿病的临床表现为多饮、多尿，高血压的临床表现为头痛、头晕。"
LATIN_TEXT = "Graves 病@Graves 病的临床表现包括FT3 升高、心率 120次/分。"


def sample(text: str, triples: list[tuple[str, str, str, str, str]]) -> Sample:
    return Sample(text, tuple(Triple(s, st, p, o, ot, subject_spans=find_spans(text, s),
                                     object_spans=find_spans(text, o)) for s, st, p, o, ot in triples))


PAIRING = sample(PAIRING_TEXT, [("糖尿病", "疾病", "临床表现", "多饮", "症状"),
                                ("糖尿病", "疾病", "临床表现", "多尿", "症状"),
                                ("高血压", "疾病", "临床表现", "头痛", "症状"),
                                ("高血压", "疾病", "临床表现", "头晕", "症状")])
LATIN = sample(LATIN_TEXT, [("Graves 病", "疾病", "临床表现", "FT3 升高", "症状"),
                            ("Graves 病", "疾病", "临床表现", "心率 120次/分", "症状")])


def tiny_settings(vocab_path, **extra) -> Settings:
    settings = Settings()
    settings = replace(settings, data__vocab=vocab_path, spans__buckets=(32, 64), spans__batch_size=8,
                       spans__negatives_per_text=0.0, spans__learning_rate=3e-3, spans__warmup_ratio=0.05,
                       spans__with_cmeee=False, spans__notes=False, **TINY)
    return replace(settings, **extra) if extra else settings


@pytest.fixture(scope="module")
def trained(tmp_path_factory, vocab_path):
    """A tiny model fitted to the two hand-made texts (copies make a few batches per epoch)."""
    from etl.models.spans.training import train_spans

    folder = tmp_path_factory.mktemp("spans") / "model"
    settings = tiny_settings(vocab_path, spans__epochs=60)
    log = []
    metrics = train_spans(settings, folder, log=log.append, train_samples=[PAIRING, LATIN] * 6,
                          dev_samples=[PAIRING, LATIN])
    return folder, metrics, log


def test_pointer_loss_is_per_token_and_ignores_the_query():
    from etl.compat import tf
    from etl.models.spans.model import mean_pointer_loss, pointer_loss

    rng = np.random.default_rng(0)
    labels = (rng.random((2, 10, 2)) > 0.7).astype("float32")
    mask = np.zeros((2, 10), "float32")
    mask[:, 4:8] = 1.0  # passage tokens; 0-3 query, 8-9 [SEP] and padding
    logits = rng.normal(size=(2, 10, 2)).astype("float32")
    per_token = pointer_loss(tf.constant(labels), tf.constant(logits), tf.constant(mask)).numpy()
    assert per_token.shape == (2, 10)  # [batch, length], as Keras' padding mask expects
    assert (per_token[:, :4] == 0).all() and (per_token[:, 8:] == 0).all()
    changed = logits.copy()
    changed[:, :4] += 50.0  # anything on query tokens...
    changed[:, 8:] -= 50.0  # ...or padding
    before = mean_pointer_loss(labels, logits, mask).numpy()
    assert mean_pointer_loss(labels, changed, mask).numpy() == pytest.approx(before, abs=1e-7)  # ...costs nothing


def test_training_reduces_loss_and_keeps_best_epoch(trained):
    _, metrics, log = trained
    losses = [row["loss"] for row in metrics["history"]]
    assert losses[-1] < 0.5 * losses[0]
    assert any(line.startswith("epoch 1/60: loss") and "dev span" in line for line in log)
    best = max(metrics["history"], key=lambda row: row["f1"])
    assert metrics["best_epoch"] == best["epoch"]


def test_the_lexicon_is_built_saved_and_used(trained):
    from etl.models.spans.model import SpanExtractor

    folder, metrics, log = trained
    extractor = SpanExtractor.load(folder)
    # the two training texts' entities + the configured CMeEE files (train and dev)
    assert {"糖尿病", "高血压", "Graves 病", "FT3 升高"} <= set(extractor.lexicon.entries)
    assert metrics["lexicon_entries"] == len(extractor.lexicon) > 10_000
    assert len(extractor.model.inputs) == 3 and any("lexicon of" in line for line in log)



def test_the_version_covers_the_lexicon(trained, tmp_path):
    """Editing lexicon.tsv changes what the model sees, so it must change the version (and the
    doctor's check of version.txt then fails)."""
    import shutil

    from etl.models.folder import folder_version, read_version

    folder, _, _ = trained
    assert folder_version("spans", folder) == read_version(folder)
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    with open(copy / "lexicon.tsv", "a", encoding="utf-8") as handle:
        handle.write("新加的词\tie:疾病\n")
    assert folder_version("spans", copy) != read_version(copy)


def test_decoding_threshold_is_tuned_on_dev_and_saved(trained):
    from etl.models.folder import read_json
    from etl.models.spans.model import SpanExtractor

    folder, metrics, log = trained
    rows = metrics["threshold_tuning"]
    assert [row["threshold"] for row in rows] == [0.4, 0.5, 0.6, 0.7]
    best = max(rows, key=lambda row: row["f1"])  # the first of equals
    decoding = read_json(folder / "labels.json")["decoding"]
    assert decoding == {"start_threshold": best["threshold"], "end_threshold": best["threshold"]}
    assert metrics["thresholds"] == {"start": best["threshold"], "end": best["threshold"], "notes": None}
    # the reported end-to-end figure is the chosen threshold's row (not a different extraction)
    assert metrics["dev_triples_oracle_relations"] == {k: v for k, v in best.items() if k != "threshold"}
    assert any(line.startswith("decoding threshold on dev") for line in log)
    loaded = SpanExtractor.load(folder)
    assert loaded.start_threshold == loaded.end_threshold == best["threshold"] and loaded.note_threshold is None
    assert SpanExtractor.load(folder, start_threshold=0.9).start_threshold == 0.9  # an explicit override wins


def test_pairing_and_exact_offsets_after_short_training(trained):
    from etl.models.spans.model import SpanExtractor

    folder, metrics, _ = trained
    extractor = SpanExtractor.load(folder)
    results = extractor.extract_batch([(PAIRING_TEXT, ["临床表现"]), (LATIN_TEXT, {"临床表现": 0.5})])
    pairs = {(t.subject, t.object) for t in results[0]}
    assert pairs == {("糖尿病", "多饮"), ("糖尿病", "多尿"), ("高血压", "头痛"), ("高血压", "头晕")}
    assert {(t.subject, t.object) for t in results[1]} == {("Graves 病", "FT3 升高"), ("Graves 病", "心率 120次/分")}
    for text, triples in zip((PAIRING_TEXT, LATIN_TEXT), results):
        for t in triples:
            assert text[t.subject_start:t.subject_end] == t.subject
            assert text[t.object_start:t.object_end] == t.object
            assert (t.subject_type, t.object_type) == ("疾病", "症状") and 0 < t.score <= 1
    assert all(t.score <= 0.5 for t in results[1])  # the relation probability scales the score
    assert metrics["dev_triples_oracle_relations"]["f1"] == 1.0


def test_save_load_identical(trained, tmp_path):
    from etl.models.spans.evaluation import span_scores
    from etl.data.examples import mrc_examples
    from etl.models.folder import round_to_f16, save_weights_f16
    from etl.models.spans.model import SpanExtractor, build_model
    from etl.schema import load_schema

    folder, metrics, _ = trained
    # the folder's figures are reproduced exactly by a fresh load (weights stored as float16)
    extractor = SpanExtractor.load(folder)
    scores = span_scores(extractor, mrc_examples([PAIRING, LATIN], load_schema()))
    assert scores["micro"] == metrics["dev_span"]
    assert (folder / "version.txt").read_text().startswith("spans-")
    # round-tripping weights through float16 storage is bit-exact once they were rounded
    features = extractor.lexicon.features  # trained with the (default) lexicon input
    model = build_model(folder / "encoder_config.json", lexicon_features=features)
    model.set_weights([w + 0.001 for w in extractor.model.get_weights()])
    round_to_f16(model)
    save_weights_f16(model, tmp_path / "w.h5")
    again = build_model(folder / "encoder_config.json", lexicon_features=features)
    again.load_weights(str(tmp_path / "w.h5"))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again.get_weights()))
    assert (tmp_path / "w.h5").stat().st_size < 2 * model.count_params() + 150_000  # 2 bytes a weight + HDF5 headers


def test_multi_turn_assembly_pairs_and_types(schema):
    """Deterministic: turn-2 answers are attributed to the subject the question named; 同义词
    takes its type from the text's other triples."""
    from etl.models.spans.model import SpanExtractor, labels_for

    text = "糖尿病即消渴症，表现为多饮；高血压表现为头痛。"
    answers = {
        "哪些疾病有临床表现？": ["糖尿病", "高血压"],
        "糖尿病有哪些临床表现？": ["多饮"],
        "高血压有哪些临床表现？": ["头痛"],
        "哪些名称有同义词或别名？": ["糖尿病"],
        "糖尿病的同义词或别名是什么？": ["消渴症"],
    }

    class Stub(SpanExtractor):
        def __init__(self):
            labels = labels_for(schema)
            labels["predicates"]["临床表现"] = {"subject_query": "哪些疾病有临床表现？",
                                               "object_query": "{subject}有哪些临床表现？"}
            self.labels, self.buckets, self.truncated_texts, self.note_threshold = labels, (64,), 0, None

            class Encoder:
                def passage(self, text):
                    return list(text), [(i, i + 1) for i in range(len(text))]
            self.encoder = Encoder()

        def answer(self, questions, threshold=None):
            out = []
            for query, passage, *_ in questions:
                spans = []
                for needle in answers.get(query, []):
                    start = passage.index(needle)
                    spans.append(PointerSpan(start, start + len(needle), 0.9, start, start + len(needle) - 1))
                out.append(spans)
            return out

    triples = Stub().extract(text, ["临床表现", "同义词"])
    got = {(t.subject, t.predicate, t.object, t.subject_type, t.object_type, t.types_inferred) for t in triples}
    assert got == {("糖尿病", "临床表现", "多饮", "疾病", "症状", False),
                   ("高血压", "临床表现", "头痛", "疾病", "症状", False),
                   ("糖尿病", "同义词", "消渴症", "疾病", "疾病", False)}
    assert all(t.score == pytest.approx(0.81) for t in triples)


def tiny_notes(tmp_path, shared_data):
    """4 annotated notes to train on and 2 to hold out, from the shared EMR-RE files."""
    folder = shared_data / "emr_re"
    train, dev = tmp_path / "notes.jsonl", tmp_path / "dev_notes.jsonl"
    for source, target, count in ((folder / "emr_re_train.jsonl", train, 4), (folder / "emr_re_dev.jsonl", dev, 2)):
        lines = source.read_text(encoding="utf-8").splitlines()[:count]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return train, dev


def test_cli_train_predict_evaluate(tmp_path, vocab_path, cmeie_samples, shared_data):
    from etl.cli import cli
    from etl.data.cmeie import write_cmeie

    runner = CliRunner()
    out = tmp_path / "spans"
    base = ["--set", f"data.vocab={vocab_path}", "--set", "data.dev_size=20", "--set", "spans.buckets=64,128,256",
            "--set", "spans.lexicon=false", "--set", "spans.note_entities=false",
            *TINY_SET]  # the fixture above covers the lexicon
    notes, dev_notes = tiny_notes(tmp_path, shared_data)
    result = runner.invoke(cli, [*base, "train", "spans", "--out", str(out), "--epochs", "1", "--max-train", "30",
                                 "--notes", str(notes), "--dev-notes", str(dev_notes)])
    assert result.exit_code == 0, result.output
    assert "epoch 1/1" in result.output and "dev span" in result.output and "main condition F1" in result.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert {"dev_span", "dev_triples_oracle_relations", "version", "train_seconds"} <= set(metrics)
    assert metrics["notes"]["train_notes"] == 4 and metrics["notes"]["train_windows"] >= 4
    assert json.loads((out / "labels.json").read_text(encoding="utf-8"))["main_condition"]["query"]
    from etl.models.folder import read_version, source_fingerprint
    from etl.models.spans.model import CONDITION_MODULES, SpanExtractor

    # the run-time version covers the code that picks the main condition
    loaded = SpanExtractor.load(out)
    assert loaded.version == f"{read_version(out)}@{source_fingerprint(CONDITION_MODULES)}"
    # one decoding threshold per register: the notes' tuned on the dev notes' windows
    assert [row["threshold"] for row in metrics["threshold_tuning_notes"]] == [0.4, 0.5, 0.6, 0.7]
    assert loaded.note_threshold == metrics["thresholds"]["notes"] is not None
    # --retune: the thresholds tuned again on the dev data, the weights kept, the folder re-versioned
    weights = (out / "weights.h5").read_bytes()
    (out / "labels.json").write_text(json.dumps({**json.loads((out / "labels.json").read_text(encoding="utf-8")),
                                                 "decoding": {"start_threshold": 0.9, "end_threshold": 0.9}}),
                                     encoding="utf-8")
    result = runner.invoke(cli, [*base, "train", "spans", "--retune", "--out", str(out), "--dev-notes", str(dev_notes)])
    assert result.exit_code == 0, result.output
    retuned = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert retuned["thresholds"] == metrics["thresholds"] and "retuned" in retuned
    assert (out / "weights.h5").read_bytes() == weights and SpanExtractor.load(out).note_threshold is not None
    from etl.models.folder import folder_version

    assert read_version(out) == folder_version("spans", out) == retuned["version"]
    bad = runner.invoke(cli, [*base, "train", "spans", "--retune", "--out", str(out), "--epochs", "2"])
    assert bad.exit_code == 1 and "trains nothing" in bad.output
    # the knowledge: the training texts' and notes' triples (etl/models/spans/knowledge.py), versioned
    note_triples = [json.loads(line)["spo_list"] for line in notes.read_text(encoding="utf-8").splitlines()]
    some = note_triples[0][0]
    assert loaded.knowledge is not None and metrics["knowledge_triples"] == len(loaded.knowledge) > 0
    assert loaded.knowledge.score(some["subject"], some["predicate"], some["object"]) > 0
    (out / "knowledge.tsv").write_text("#subject\tpredicate\tobject\tcount\n", encoding="utf-8")
    assert folder_version("spans", out) != read_version(out)  # an edit is seen
    result = runner.invoke(cli, [*base, "train", "spans", "--knowledge", "--out", str(out), "--notes", str(notes)])
    assert result.exit_code == 0, result.output
    assert "subject-finding pairs" in result.output and (out / "weights.h5").read_bytes() == weights
    assert read_version(out) == folder_version("spans", out)
    assert SpanExtractor.load(out).knowledge.score(some["subject"], some["predicate"], some["object"]) > 0
    bad = runner.invoke(cli, [*base, "train", "spans", "--knowledge", "--retune", "--out", str(out)])
    assert bad.exit_code == 1 and "trains nothing" in bad.output
    # --average: a "model soup", the mean of the weights of folders of one shape, tuned and measured
    import shutil

    import numpy as np

    from etl.models.folder import save_weights_f16

    other = tmp_path / "spans-other"
    shutil.copytree(out, other)
    model = SpanExtractor.load(other).model
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    save_weights_f16(model, other / "weights.h5")
    (other / "version.txt").write_text(folder_version("spans", other) + "\n", encoding="utf-8")
    averaged = tmp_path / "spans-averaged"
    result = runner.invoke(cli, [*base, "train", "spans", "--average", str(out), "--average", str(other),
                                 "--out", str(averaged), "--dev-notes", str(dev_notes)])
    assert result.exit_code == 0, result.output
    assert "averaged the weights" in result.output and not (tmp_path / "spans-averaged.partial").exists()
    record = json.loads((averaged / "settings.json").read_text(encoding="utf-8"))
    assert record["averaged_from"] == [read_version(out), read_version(other)]
    assert read_version(averaged) == folder_version("spans", averaged) not in (read_version(out), read_version(other))
    for mean, whole in zip(SpanExtractor.load(averaged).model.get_weights(),
                           SpanExtractor.load(out).model.get_weights()):
        np.testing.assert_allclose(mean, whole / 2, atol=2e-3)
    assert json.loads((averaged / "metrics.json").read_text(encoding="utf-8"))["retuned"]
    (other / "vocab.txt").write_text((out / "vocab.txt").read_text(encoding="utf-8") + "多\n", encoding="utf-8")
    bad = runner.invoke(cli, [*base, "train", "spans", "--average", str(out), "--average", str(other),
                              "--out", str(averaged)])
    assert bad.exit_code == 1 and "differ in vocab.txt" in bad.output
    bad = runner.invoke(cli, [*base, "train", "spans", "--average", str(out), "--retune", "--out", str(averaged)])
    assert bad.exit_code == 1 and "trains nothing" in bad.output
    assert {p.name for p in out.iterdir()} >= {"encoder_config.json", "vocab.txt", "weights.h5", "labels.json",
                                               "settings.json", "metrics.json", "version.txt", "knowledge.tsv"}
    assert not (out / "lexicon.tsv").exists() and metrics["lexicon_entries"] == 0

    gold = tmp_path / "gold.jsonl"
    write_cmeie(gold, cmeie_samples[:5])
    pred = tmp_path / "pred.jsonl"
    result = runner.invoke(cli, ["predict", "spans", "--input", str(gold), "--model", str(out),
                                 "--gold-relations", "--output", str(pred)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in pred.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == [s.text for s in cmeie_samples[:5]]
    for row in rows:
        for spo in row["spo_list"]:
            start, end = spo["subject_offsets"]
            assert row["text"][start:end] == spo["subject"]

    result = runner.invoke(cli, ["evaluate", "--spans-model", str(out), "--oracle-relations", "--gold", str(gold),
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["micro"]["gold"] == sum(len({t.key for t in s.triples}) for s in cmeie_samples[:5])
    assert runner.invoke(cli, ["evaluate", "--spans-model", str(out)]).exit_code == 1  # needs a relation source
    # the notes: their run path (windows, main condition, relations, spans, assertion) and their scoring
    result = runner.invoke(cli, ["--set", f"spans.model_dir={out}", "evaluate", "notes", "--gold", str(dev_notes),
                                 "--json", "--write-pred", str(tmp_path / "notes-pred.jsonl")])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.output)
    assert scored["notes"] == 2 and scored["strict"]["gold"] > 0 and "lenient" in scored
    assert len((tmp_path / "notes-pred.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    assert runner.invoke(cli, ["predict", "spans", "--input", str(gold),
                               "--model", str(tmp_path / "none")]).exit_code == 1
