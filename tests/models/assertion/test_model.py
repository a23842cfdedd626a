"""Assertion classifier with a tiny ELECTRA (hidden 32, 2 layers) from scratch: context cutting,
mention and cue encoding, training lowers the loss, save -> load gives identical predictions, the
three decisions, and the CLI (train, predict with its exact interface and errors, evaluate)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.config import Settings, replace
from etl.data.cdee import CdeeSample, Finding
from etl.models.assertion.data import (CUE_CHANNELS, LABELS, Mention, MentionEncoder, cdee_examples,
                                       make_batch, mention_context)


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow

TINY = dict(assertion__encoder_checkpoint="", assertion__encoder__hidden_size=32,
            assertion__encoder__num_hidden_layers=2, assertion__encoder__num_attention_heads=2,
            assertion__encoder__intermediate_size=64, assertion__encoder__embedding_size=32,
            assertion__encoder__hidden_dropout_prob=0.0, assertion__encoder__attention_probs_dropout_prob=0.0)
TINY_SET = ["--set", "assertion.encoder_checkpoint=", "--set", "assertion.encoder.hidden_size=32",
            "--set", "assertion.encoder.num_hidden_layers=2", "--set", "assertion.encoder.num_attention_heads=2",
            "--set", "assertion.encoder.intermediate_size=64", "--set", "assertion.encoder.embedding_size=32"]


def finding(text: str, name: str, status: str, nth: int = 0) -> Finding:
    start = -1
    for _ in range(nth + 1):
        start = text.index(name, start + 1)
    return Finding(name, status, start, start + len(name), "verbatim")


# Hand-made sentences in the notes' register: the same findings present, denied and hedged.
SAMPLES = [
    CdeeSample("1", "患者无发热、咳嗽，伴恶心。", (finding("患者无发热、咳嗽，伴恶心。", "发热", "absent"),
                                             finding("患者无发热、咳嗽，伴恶心。", "咳嗽", "absent"),
                                             finding("患者无发热、咳嗽，伴恶心。", "恶心", "present"))),
    CdeeSample("2", "考虑肺炎，有发热。", (finding("考虑肺炎，有发热。", "肺炎", "possible"),
                                       finding("考虑肺炎，有发热。", "发热", "present"))),
    CdeeSample("3", "否认高血压病史，现咳嗽。", (finding("否认高血压病史，现咳嗽。", "高血压", "absent"),
                                           finding("否认高血压病史，现咳嗽。", "咳嗽", "present"))),
]


def tiny_settings(vocab_path, **extra) -> Settings:
    settings = replace(Settings(), data__vocab=vocab_path, assertion__buckets=(16, 32), assertion__batch_size=4,
                       assertion__learning_rate=3e-3, assertion__warmup_ratio=0.05, **TINY)
    return replace(settings, **extra) if extra else settings


def test_context_is_cut_at_sentence_ends_and_keeps_offsets():
    text = "既往体健。患者无发热，咳嗽两天。查体：肺部啰音。"
    start = text.index("发热")
    context, s, e = mention_context(text, start, start + 2)
    assert context == "患者无发热，咳嗽两天。" and context[s:e] == "发热"
    context, s, e = mention_context(text, start, start + 2, left=1, right=2)
    assert context == "无发热，咳" and context[s:e] == "发热"
    assert mention_context(context, s, e, left=1, right=2) == (context, s, e)  # idempotent on a context


def test_encoder_marks_the_mention_and_the_rule_cues(vocab_path):
    from etl.models.assertion.rules import ContextRules
    from etl.models.tokens import load_tokenizer

    tokenizer = load_tokenizer(vocab_path)
    text = "患者无发热、咳嗽。"
    mention = Mention(text, text.index("咳嗽"), text.index("咳嗽") + 2)
    plain = MentionEncoder(tokenizer, 32).encode(mention)
    assert tokenizer.decode(plain.token_ids[plain.mention[0]:plain.mention[1] + 1]) == "咳嗽"
    assert plain.cues.shape == (len(plain.token_ids), 0)
    cued = MentionEncoder(tokenizer, 32, ContextRules.load()).encode(mention)
    negated = CUE_CHANNELS.index("negated")
    flagged = [tokenizer.id_to_token(plain.token_ids[i]) for i in np.flatnonzero(cued.cues[:, negated])]
    assert flagged == ["无"]
    assert cued.cues[plain.token_ids.index(tokenizer.token_to_id("无")), CUE_CHANNELS.index("decisive")] == 1
    ids, segments, flags = make_batch([cued], 16, rows=2, features=1 + len(CUE_CHANNELS))
    assert ids.shape == segments.shape == (2, 16) and flags.shape == (2, 16, 1 + len(CUE_CHANNELS))
    assert list(np.flatnonzero(segments[0])) == list(np.flatnonzero(flags[0, :, 0])) == [7, 8]
    assert not ids[1].any()  # padding row


def test_augmented_copies_put_the_cue_inside_denied_findings():
    plain = cdee_examples(SAMPLES)
    assert [(e.mention.text[e.mention.start:e.mention.end], e.label) for e in plain][:3] == [
        ("发热", "absent"), ("咳嗽", "absent"), ("恶心", "present")]
    augmented = cdee_examples(SAMPLES * 20, augment=True, seed=1)
    inside = {e.mention.text[e.mention.start:e.mention.end] for e in augmented} - {
        e.mention.text[e.mention.start:e.mention.end] for e in plain}
    assert inside == {"无发热", "否认高血压"}  # 咳嗽 follows 、, not its cue
    assert all(e.label == "absent" for e in augmented if e.mention.text[e.mention.start:e.mention.end] in inside)


def test_a_few_training_steps_reduce_the_loss(tmp_path, vocab_path):
    from etl.compat import keras
    from etl.models.assertion.model import build_model
    from etl.models.encoder import scratch_config
    from etl.models.folder import write_json
    from etl.models.tokens import load_tokenizer, trim_vocab

    settings = tiny_settings(vocab_path)
    trim_vocab(vocab_path, [s.text for s in SAMPLES], tmp_path / "vocab.txt")
    write_json(tmp_path / "config.json", scratch_config(settings.assertion.encoder,
                                                         len((tmp_path / "vocab.txt").read_text().split())))
    keras.utils.set_random_seed(0)
    tokenizer = load_tokenizer(tmp_path / "vocab.txt")
    encoder = MentionEncoder(tokenizer, 32)
    examples = cdee_examples(SAMPLES)
    inputs = make_batch([encoder.encode(e.mention) for e in examples], 32)
    labels = np.array([LABELS.index(e.label) for e in examples])
    model = build_model(tmp_path / "config.json", features=1)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    before = model.evaluate(inputs, labels, verbose=0)
    model.fit(inputs, labels, epochs=20, verbose=0)
    after = model.evaluate(inputs, labels, verbose=0)
    assert after < 0.5 * before


@pytest.fixture(scope="module")
def trained(tmp_path_factory, vocab_path):
    from etl.models.assertion.training import train_assertion

    folder = tmp_path_factory.mktemp("assertion") / "model"
    log = []
    metrics = train_assertion(tiny_settings(vocab_path, assertion__epochs=30), folder, log=log.append,
                              train_samples=SAMPLES * 4, dev_samples=SAMPLES)
    return folder, metrics, log


def test_training_writes_a_folder_whose_figures_a_fresh_load_reproduces(trained):
    from etl.models.assertion.metrics import assertion_report
    from etl.models.assertion.model import AssertionClassifier

    folder, metrics, log = trained
    assert {p.name for p in folder.iterdir()} >= {"encoder_config.json", "vocab.txt", "weights.h5", "labels.json",
                                                   "settings.json", "metrics.json", "version.txt", "context_rules.tsv"}
    assert (folder / "version.txt").read_text().startswith("assertion-")
    assert set(metrics["dev_by_decision"]) == {"model", "rules", "gated"}
    assert metrics["dev_by_decision"]["model"]["accuracy"] == 1.0  # the tiny model fits its seven findings
    # the folder decides with the best dev accuracy; here all tie, so the one that runs the model least
    assert metrics["decision"] == json.loads((folder / "labels.json").read_text())["decision"] == "rules"
    assert metrics["dev"] == metrics["dev_by_decision"]["rules"] and metrics["decision_chosen_on_dev"]
    assert any("*best" in line for line in log)
    classifier = AssertionClassifier.load(folder)
    examples = cdee_examples(SAMPLES)
    again = assertion_report([e.label for e in examples],
                             [a.status for a in classifier.assess([e.mention for e in examples])])
    assert again == {k: v for k, v in metrics["dev"].items() if k != "model_calls"}
    # save -> load: identical probabilities from a second load
    second = AssertionClassifier.load(folder)
    mentions = [e.mention for e in examples]
    assert np.array_equal(classifier.probabilities(mentions), second.probabilities(mentions))


def test_decisions_and_rule_modifiers(trained):
    from etl.models.assertion.model import AssertionClassifier

    folder, _, _ = trained
    text = "其父患糖尿病。患者无发热。"
    mentions = [Mention(text, 3, 6), Mention(text, 10, 12)]
    by_rules = AssertionClassifier.load(folder, decision="rules")
    judged = by_rules.assess(mentions)
    assert [a.status for a in judged] == ["present", "absent"] and judged[0].experiencer == "family"
    assert by_rules.model_calls == 0 and all(a.source == "rules" and a.score == 1.0 for a in judged)
    gated = AssertionClassifier.load(folder, decision="gated")
    judged = gated.assess(mentions)
    assert gated.model_calls == 1  # only the mention with a cue in its sentence went to the model
    assert judged[0] == by_rules.assess(mentions[:1])[0]
    with pytest.raises(ValueError, match="decision"):
        AssertionClassifier.load(folder, decision="vote")
    # an override is part of the version (evidence says what judged it; the ledger re-judges)
    from etl.models.assertion.model import code_fingerprint

    own = AssertionClassifier.load(folder)
    assert own.version == (folder / "version.txt").read_text().strip() + "@" + code_fingerprint()
    assert "+" not in own.version
    assert gated.version == own.version + "+gated" and by_rules.version == own.version  # rules is its own


def test_decision_choice_and_the_version_covers_it(tmp_path, trained):
    import shutil

    from etl.models.assertion.training import choose_decision
    from etl.models.folder import folder_version, read_version

    reports = {"model": {"accuracy": 0.97, "model_calls": 10}, "rules": {"accuracy": 0.96, "model_calls": 0},
               "gated": {"accuracy": 0.97, "model_calls": 6}}
    assert choose_decision(reports) == "gated"
    folder, _, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert folder_version("assertion", copy) == read_version(copy)
    labels = json.loads((copy / "labels.json").read_text(encoding="utf-8"))
    (copy / "labels.json").write_text(json.dumps(dict(labels, decision="model")), encoding="utf-8")
    assert folder_version("assertion", copy) != read_version(copy)  # editing the decision re-versions


def test_the_version_changes_with_the_code_that_decides_a_status(trained, monkeypatch):
    import etl.models.assertion.model as assertion_model
    from etl.models.assertion.model import AssertionClassifier, code_fingerprint, module_source
    from etl.models.folder import read_version

    folder, _, _ = trained
    shipped = AssertionClassifier.load(folder).version
    files, code = shipped.split("@")
    assert files == read_version(folder) and code == code_fingerprint() and len(code) == 12

    def edited(text: bytes):
        def source(name: str) -> bytes:
            return text if name == "etl.models.assertion.rules" else module_source(name)
        return source

    rules_code = module_source("etl.models.assertion.rules")
    changed = rules_code.replace(b"DEFAULT_MAX_SCOPE = 40", b"DEFAULT_MAX_SCOPE = 41")
    assert changed != rules_code
    monkeypatch.setattr(assertion_model, "module_source", edited(changed))
    again = AssertionClassifier.load(folder)
    assert again.version != shipped and again.version.startswith(files + "@")  # same folder, new code
    assert AssertionClassifier.load(folder).version == again.version  # the same code, the same version
    assert AssertionClassifier.load(folder, decision="gated").version == again.version + "+gated"
    monkeypatch.setattr(assertion_model, "module_source", edited(rules_code))
    assert AssertionClassifier.load(folder).version == shipped


def test_the_code_fingerprint_hashes_module_text_not_paths_nor_line_ends(tmp_path, monkeypatch):
    import hashlib
    import sys

    from etl.models.assertion import data, model, rules
    from etl.models.assertion.model import CODE_MODULES, code_fingerprint, module_source

    # what it hashes: each module's name, length and bytes (the files of a LF checkout)
    digest = hashlib.sha256()
    for name, module in zip(CODE_MODULES, (rules, data, model)):
        text = Path(module.__file__).read_bytes().replace(b"\r\n", b"\n")
        digest.update(f"{name}\n{len(text)}\n".encode() + text)
    assert code_fingerprint() == digest.hexdigest()[:12]
    # the same module text in two places, one with CRLF line ends, reads the same
    body = '"""doc"""\nX = "无伴"\n'
    for place, ending in (("lf", "\n"), ("crlf", "\r\n")):
        (tmp_path / place).mkdir()
        (tmp_path / place / f"probe_{place}.py").write_bytes(body.replace("\n", ending).encode("utf-8"))
        monkeypatch.syspath_prepend(str(tmp_path / place))
    assert module_source("probe_lf") == module_source("probe_crlf") == body.encode("utf-8")
    assert "probe_lf" not in sys.modules  # read, not imported
    with pytest.raises(RuntimeError, match="no source"):
        module_source("etl_no_such_module")


def test_remeasure_keeps_the_weights_and_takes_the_rules_file(trained, tmp_path, vocab_path):
    import shutil

    from etl.models.assertion.model import AssertionClassifier, code_fingerprint
    from etl.models.assertion.rules import DEFAULT_RULES_PATH, ContextRules
    from etl.models.assertion.training import remeasure_folder
    from etl.models.folder import folder_version, read_version

    folder, metrics, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    rules = tmp_path / "rules.tsv"  # an edited rule set: 伴 no terminator
    rules.write_text(DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace(
        "/(?<![无未])伴/\tterminate", "# 伴 dropped\t"), encoding="utf-8")
    log = []
    again = remeasure_folder(tiny_settings(vocab_path, assertion__rules=str(rules)), copy, "a test edit",
                             log=log.append, dev_samples=SAMPLES)
    assert (copy / "context_rules.tsv").read_bytes() == rules.read_bytes()
    assert (copy / "weights.h5").read_bytes() == (folder / "weights.h5").read_bytes()
    assert read_version(copy) == folder_version("assertion", copy) == again["version"] != read_version(folder)
    on_disk = json.loads((copy / "metrics.json").read_text(encoding="utf-8"))
    assert on_disk == again and again["dev_remeasured"] == "a test edit"
    assert again["rules_fingerprint"] == ContextRules.load(rules).fingerprint()
    assert again["code_fingerprint"] == code_fingerprint()
    assert again["history"] == metrics["history"] and again["train_seconds"] == metrics["train_seconds"]
    # 伴 no longer ends the scope: 恶心 in 无发热、咳嗽，伴恶心 is still present (the comma ends it)
    assert again["dev_by_decision"]["rules"]["accuracy"] == metrics["dev_by_decision"]["rules"]["accuracy"]
    assert AssertionClassifier.load(copy).version == again["version"] + "@" + code_fingerprint()
    assert any(line.startswith("re-measured") for line in log)
    assert not (tmp_path / "copy.partial").exists()


def test_remeasure_cli_trains_nothing():
    result = CliRunner().invoke(cli, ["train", "assertion", "--remeasure", "why", "--epochs", "2", "--from-scratch"])
    assert result.exit_code != 0 and "--remeasure trains nothing: drop --epochs, --from-scratch" in result.output


def test_the_shipped_folder_judges_by_the_packaged_rules_and_its_figures_are_current():
    from etl.models.assertion.model import code_fingerprint
    from etl.models.assertion.rules import DEFAULT_RULES_PATH, ContextRules
    from etl.models.folder import folder_version, read_version

    folder = Path(__file__).resolve().parents[3] / "models" / "assertion"
    hint = "after editing the rules or their code: etl train assertion --remeasure WHY (MODELS.md)"
    assert (folder / "context_rules.tsv").read_bytes() == DEFAULT_RULES_PATH.read_bytes(), hint
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert read_version(folder) == folder_version("assertion", folder) == metrics["version"], hint
    assert metrics["rules_fingerprint"] == ContextRules.load(folder / "context_rules.tsv").fingerprint(), hint
    assert metrics["code_fingerprint"] == code_fingerprint(), hint
    assert metrics["dev"]["per_status"]["possible"]["f1"] >= 0.85


def test_predict_cli_keeps_the_interface_and_names_bad_lines(trained, tmp_path):
    folder, _, _ = trained
    source = tmp_path / "in.jsonl"
    rows = [{"id": "a", "text": "患者无发热、咳嗽，伴恶心。",
             "mentions": [{"start": 3, "end": 5}, {"start": 10, "end": 12}], "extra": 1},
            {"id": 7, "text": "其父患糖尿病。", "mentions": [{"start": 3, "end": 6}]},
            {"id": "none", "text": "无。", "mentions": []}]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["predict", "assertions", "--model", str(folder), "--input", str(source),
                                      "--output", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in out] == ["a", 7, "none"] and out[0]["extra"] == 1
    first, second = out[0]["mentions"]
    assert (first["start"], first["end"], first["assertion"]) == (3, 5, "absent")
    assert second["assertion"] == "present" and 0 < second["score"] <= 1
    assert "experiencer" not in first and "historical" not in first
    assert out[1]["mentions"][0]["experiencer"] == "family" and out[2]["mentions"] == []
    for bad, message in [('{"id": 1, "text": "无发热", "mentions": [{"start": 2, "end": 9}]}', "line 2.*outside"),
                         ('{"id": 1, "text": "无发热"}', "line 2.*mentions"),
                         ('{"id": 1, "text": "无发热", "mentions": [{"start": "1", "end": 3}]}', "line 2.*integers"),
                         ("not json", "line 2.*not JSON")]:
        source.write_text(json.dumps(rows[0], ensure_ascii=False) + "\n" + bad + "\n", encoding="utf-8")
        result = CliRunner().invoke(cli, ["predict", "assertions", "--model", str(folder), "--input", str(source)])
        assert result.exit_code == 1, result.output
        assert __import__("re").search(message, result.output), result.output


def test_train_and_evaluate_cli(tmp_path, vocab_path, shared_data):
    folder = tmp_path / "model"
    result = CliRunner().invoke(cli, ["--set", f"data.vocab={vocab_path}", *TINY_SET,
                                      "--set", "assertion.buckets=16,32", "train", "assertion", "--out", str(folder),
                                      "--epochs", "1", "--max-train", "20", "--no-rule-features",
                                      "--decision", "gated"])
    assert result.exit_code == 0, result.output
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    assert labels["decision"] == "gated" and labels["cue_channels"] == []
    result = CliRunner().invoke(cli, ["evaluate", "assertions", "--model", str(folder), "--json",
                                      "--decision", "rules"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["findings"] == 965 and report["placed"] + report["not_placed"] == 965
    assert report["decision"] == "rules" and report["model_calls"] == 0
    assert sum(m["gold"] for m in report["per_status"].values()) == report["placed"]
    table = CliRunner().invoke(cli, ["evaluate", "assertions", "--model", str(folder), "--decision", "rules"])
    assert "not placeable" in table.output and "possible" in table.output
