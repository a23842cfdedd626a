"""`etl train assertion`: the classifier trained on CDEE train, chosen and measured on CDEE dev.

After every epoch the dev findings are classified; the epoch with the best dev macro-F1 (the rare
possible class counts as much as the others) is kept. At the end the three decisions (model,
rules, gated: etl.models.assertion.model) are measured on dev with the shipped float16 weights and
written to metrics.json. The folder decides with `assertion.decision` when it is set, else with
the decision of the best dev accuracy (ties: the one that runs the classifier least).

`remeasure_folder` (`etl train assertion --remeasure WHY`) is for an edit of the rules or of the
code that decides a status, with the weights kept: it copies the rules file into the folder,
measures the three decisions on dev again (choosing the decision again if it was chosen on dev),
and rewrites metrics.json (`dev_remeasured` says why), labels.json and version.txt, so the shipped
folder's figures describe the shipped rules and code.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from etl.compat import keras
from etl.data.cdee import CdeeSample, placement_counts, read_cdee
from etl.models import folder as model_folder
from etl.models.assertion.data import (LABELS, LabelledMention, MentionEncoder, cdee_examples, label_ids,
                                       make_batch)
from etl.models.assertion.metrics import assertion_report
from etl.models.assertion.model import (DECISIONS, KIND, RULES_FILE, AssertionClassifier, build_model,
                                        code_fingerprint, runtime_version, save_assertion_folder)
from etl.models.encoder import stage_encoder
from etl.models.tokens import load_tokenizer, shuffled_batches
from etl.models.training import make_optimizer


class MentionBatches(keras.utils.Sequence):
    """One epoch of shuffled, length-bucketed training batches (a new order every epoch)."""

    def __init__(self, encoded, labels: np.ndarray, weights: np.ndarray, buckets: Sequence[int],
                 batch_size: int, features: int, seed: int):
        super().__init__()
        self.encoded, self.labels, self.weights = encoded, labels, weights
        self.buckets, self.batch_size, self.features = buckets, batch_size, features
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def on_epoch_end(self):
        self.order = shuffled_batches([len(e.token_ids) for e in self.encoded], self.buckets,
                                      self.batch_size, self.rng)

    def __len__(self):
        return len(self.order)

    def __getitem__(self, index):
        bucket, rows = self.order[index]
        inputs = make_batch([self.encoded[i] for i in rows], bucket, features=self.features)
        return inputs, self.labels[rows], self.weights[rows]


def _line(report: dict) -> str:
    s = report["per_status"]
    return (f"accuracy {report['accuracy']:.4f}, macro F1 {report['macro_f1']:.4f} | F1 present "
            f"{s['present']['f1']:.4f}, absent {s['absent']['f1']:.4f}, possible {s['possible']['f1']:.4f}")


class DevEvaluation(keras.callbacks.Callback):
    """After each epoch: dev figures, logged; keeps the weights of the best macro-F1 epoch."""

    def __init__(self, classifier: AssertionClassifier, encoded, gold: Sequence[str], log):
        super().__init__()
        self.classifier, self.encoded, self.gold, self.log = classifier, encoded, list(gold), log
        self.best_score, self.best_epoch, self.best_weights = -1.0, 0, None
        self.history: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        probs = self.classifier.probabilities_encoded(self.encoded)
        report = assertion_report(self.gold, [LABELS[k] for k in probs.argmax(1)])
        self.history.append({"epoch": epoch + 1, "loss": float((logs or {}).get("loss", float("nan"))),
                             "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
                             **{f"{s}_f1": report["per_status"][s]["f1"] for s in LABELS}})
        mark = ""
        if report["macro_f1"] > self.best_score:
            self.best_score, self.best_epoch = report["macro_f1"], epoch + 1
            self.best_weights = self.model.get_weights()
            mark = "  *best"
        self.log(f"epoch {epoch + 1}: dev {_line(report)}{mark}")

    def restore_best(self):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def evaluate_decisions(classifier: AssertionClassifier, examples: Sequence[LabelledMention]) -> dict:
    """Dev figures of every decision (model, rules, gated) with the classifier as it is now."""
    gold = [e.label for e in examples]
    mentions = [e.mention for e in examples]
    out = {}
    for decision in DECISIONS:
        classifier.decision, classifier.model_calls = decision, 0
        report = assertion_report(gold, [a.status for a in classifier.assess(mentions)])
        report["model_calls"] = classifier.model_calls
        out[decision] = report
    return out


def choose_decision(decisions: dict) -> str:
    """The decision with the best dev accuracy; ties go to the one that runs the classifier least."""
    return max(decisions, key=lambda d: (decisions[d]["accuracy"], -decisions[d]["model_calls"]))


def train_assertion(settings, out: str | Path, log: Callable[[str], None] = print, *,
                    train_samples: Sequence[CdeeSample] | None = None,
                    dev_samples: Sequence[CdeeSample] | None = None, verbose: int | None = None) -> dict:
    """Train on CDEE (data.cdee_train / data.cdee_dev unless samples are given) and write the
    model folder `out` (built as `<out>.partial`, moved into place at the end); returns metrics."""
    from etl.config import as_dict
    from etl.models.assertion.rules import DEFAULT_RULES_PATH, ContextRules

    a = settings.assertion
    out = Path(out)
    keras.utils.set_random_seed(a.seed)
    train_samples = list(train_samples) if train_samples is not None else read_cdee(settings.data.cdee_train)
    dev_samples = list(dev_samples) if dev_samples is not None else read_cdee(settings.data.cdee_dev)
    train = cdee_examples(train_samples, augment=a.augment, seed=a.seed)
    dev = cdee_examples(dev_samples)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2

    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # The folder's own copy of the rules is what training reads, so the model and the rules it is
    # shipped with cannot drift apart (an edit to the packaged file during training changes nothing).
    shutil.copyfile(Path(a.rules) if a.rules else DEFAULT_RULES_PATH, staging / RULES_FILE)
    rules = ContextRules.load(staging / RULES_FILE)
    checkpoint = stage_encoder("assertion", a, settings.data.vocab, [s.text for s in train_samples], staging)
    tokenizer = load_tokenizer(staging / "vocab.txt")
    encoder = MentionEncoder(tokenizer, a.buckets[-1], rules if a.rule_features else None,
                             a.left_chars, a.right_chars)
    train_encoded = [encoder.encode(e.mention) for e in train]
    dev_encoded = [encoder.encode(e.mention) for e in dev]
    y_train = label_ids(train)
    class_weight = np.array([a.possible_weight if label == "possible" else 1.0 for label in LABELS], np.float32)

    model = build_model(staging / "encoder_config.json", checkpoint, encoder.features, a.dropout)
    batches = MentionBatches(train_encoded, y_train, class_weight[y_train], a.buckets, a.batch_size,
                             encoder.features, a.seed)
    model.compile(optimizer=make_optimizer(a.learning_rate, len(batches) * a.epochs, a.warmup_ratio, a.clip_norm),
                  loss=keras.losses.SparseCategoricalCrossentropy(), weighted_metrics=[])
    labels = {"buckets": list(a.buckets), "batch_size": 64, "left_chars": a.left_chars,
              "right_chars": a.right_chars, "cue_channels": list(encoder.channels), "encoder": "electra"}
    classifier = AssertionClassifier(model, tokenizer, dict(labels, labels=list(LABELS)), rules, batch_size=64)
    evaluation = DevEvaluation(classifier, dev_encoded, [e.label for e in dev], log)

    counts = {split: placement_counts(samples) for split, samples in (("train", train_samples), ("dev", dev_samples))}
    augmented = len(train) - counts["train"]["verbatim"] - counts["train"]["gapped"]
    log(f"assertion: {len(train)} training mentions ({augmented} of them cue-inside copies) / "
        f"{len(dev)} dev mentions; not placeable: {counts['train']['unplaced']} train, "
        f"{counts['dev']['unplaced']} dev; {a.epochs} epochs x {len(batches)} batches, "
        f"{model.count_params():,} parameters, "
        f"encoder {'checkpoint ' + str(checkpoint) if checkpoint else 'from scratch'}"
        f", rule features {'on' if encoder.channels else 'off'}")
    started = time.perf_counter()
    model.fit(batches, epochs=a.epochs, shuffle=False, callbacks=[evaluation], verbose=verbose)
    train_seconds = time.perf_counter() - started
    evaluation.restore_best()
    model_folder.round_to_f16(model)  # what float16 storage gives back: metrics describe the shipped weights

    decisions = evaluate_decisions(classifier, dev)
    for decision, report in decisions.items():
        log(f"dev, decision {decision}: {_line(report)} ({report['model_calls']} mentions through the model)")
    chosen = a.decision or choose_decision(decisions)
    labels["decision"] = chosen
    metrics = {
        "dev": decisions[chosen], "decision": chosen, "decision_chosen_on_dev": not a.decision,
        "dev_by_decision": decisions,
        "placement": counts, "train_mentions": len(train), "dev_mentions": len(dev),
        "best_epoch": evaluation.best_epoch, "epochs": a.epochs, "history": evaluation.history,
        "train_seconds": round(train_seconds, 1), "parameters": int(model.count_params()),
        "rules_fingerprint": rules.fingerprint(), "code_fingerprint": code_fingerprint(),
    }
    settings_record = {"assertion": as_dict(settings)["assertion"], "data": as_dict(settings)["data"]}
    version = save_assertion_folder(staging, model, labels, settings_record, metrics)
    metrics["version"] = version
    model_folder.replace_folder(staging, out)
    log(f"wrote {out} (version {runtime_version(version)}, decision {chosen}, trained in "
        f"{train_seconds / 60:.1f} min)")
    return metrics


def remeasure_folder(settings, folder: str | Path, why: str, log: Callable[[str], None] = print, *,
                     dev_samples: Sequence[CdeeSample] | None = None) -> dict:
    """The trained folder `folder` with its weights kept and the rules file (assertion.rules, else
    the packaged one) copied in, its decisions measured on dev (data.cdee_dev unless samples are
    given) by the code as it is now; `why` is kept as metrics.json's dev_remeasured. Built as
    `<folder>.partial`, moved into place at the end; returns the new metrics."""
    from etl.models.assertion.rules import DEFAULT_RULES_PATH

    folder = model_folder.check_folder(folder, KIND)
    dev_samples = list(dev_samples) if dev_samples is not None else read_cdee(settings.data.cdee_dev)
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(folder, staging)
    shutil.copyfile(Path(settings.assertion.rules) if settings.assertion.rules else DEFAULT_RULES_PATH,
                    staging / RULES_FILE)
    metrics = model_folder.read_json(staging / "metrics.json")
    labels = model_folder.read_json(staging / "labels.json")
    classifier = AssertionClassifier.load(staging)
    examples = cdee_examples(dev_samples)
    decisions = evaluate_decisions(classifier, examples)
    for decision, report in decisions.items():
        log(f"dev, decision {decision}: {_line(report)} ({report['model_calls']} mentions through the model)")
    chosen = choose_decision(decisions) if metrics.get("decision_chosen_on_dev", True) else labels["decision"]
    if chosen != labels.get("decision"):
        model_folder.write_json(staging / "labels.json", dict(labels, decision=chosen))
    metrics.update(dev=decisions[chosen], decision=chosen, dev_by_decision=decisions,
                   dev_mentions=len(examples),
                   placement=dict(metrics.get("placement", {}), dev=placement_counts(dev_samples)),
                   rules_fingerprint=classifier.rules.fingerprint(), code_fingerprint=code_fingerprint(),
                   dev_remeasured=why)
    version = model_folder.finish_folder(KIND, staging, model_folder.read_json(staging / "settings.json"), metrics)
    metrics = model_folder.read_json(staging / "metrics.json")  # with the version and the folder's size
    model_folder.replace_folder(staging, folder)
    log(f"re-measured {folder} (version {runtime_version(version)}, decision {chosen})")
    return metrics


__all__ = ["train_assertion", "evaluate_decisions", "remeasure_folder", "RULES_FILE"]
