"""`etl train relation`: epochs over the CMeIE train split, dev figures after each (the best epoch
and the lexical mix weight are chosen there), per-predicate thresholds tuned on dev, cross-fitted
figures, and the model folder written (model.save_relation_folder)."""
from __future__ import annotations

import math
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from etl.compat import keras
from etl.models import folder as model_folder
from etl.models.encoder import stage_encoder
from etl.models.relation.lexical import BranchMix, LexicalFeatures
from etl.models.relation.losses import make_loss
from etl.models.relation.model import (MIX_LAYER, MIX_GRID, BucketBatches, Predictor, branch_model,
                                       build_relation_model, encode_texts, label_matrix,
                                       save_relation_folder, split_branches)
from etl.models.relation.thresholds import (best_global_threshold, crossfit_metrics, multilabel_metrics,
                                            tune_thresholds)
from etl.models.tokens import load_tokenizer
from etl.models.training import make_optimizer


def dev_report(y_true: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> dict:
    """Figures at a fixed threshold and at the best single threshold (selection metric)."""
    best = best_global_threshold(y_true, probs)
    return {"fixed": multilabel_metrics(y_true, probs >= threshold), "best_threshold": best,
            "best": multilabel_metrics(y_true, probs >= best)}


def _line(name: str, m: dict) -> str:
    mi, ma = m["micro"], m["macro"]
    return (f"{name} micro F1 {mi['f1']:.4f} P {mi['precision']:.4f} R {mi['recall']:.4f} | "
            f"macro F1 {ma['f1']:.4f} P {ma['precision']:.4f} R {ma['recall']:.4f}")


def choose_mix(y_true: np.ndarray, encoder: np.ndarray, lexical: np.ndarray) -> tuple[float, dict]:
    """The encoder weight w of MIX_GRID whose mix w * encoder + (1 - w) * lexical has the best
    micro-F1 at its best single threshold (ties: the first, i.e. the lower w), and every w's score."""

    def score(p):
        return multilabel_metrics(y_true, p >= best_global_threshold(y_true, p))["micro"]["f1"]

    scores = {w: score(w * encoder + (1 - w) * lexical) for w in MIX_GRID}
    return max(scores, key=scores.get), scores


def crossfit_mix(y_true: np.ndarray, encoder: np.ndarray, lexical: np.ndarray, min_support: int,
                 seed: int = 0) -> dict:
    """Honest figures for the whole dev-tuned decision rule of a lexical model: choose the mix
    weight and tune the thresholds on one half of dev, decide the other half, swap (as
    `crossfit_metrics` does for the thresholds alone)."""
    y_true = np.asarray(y_true, bool)
    order = np.random.default_rng(seed).permutation(len(y_true))
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    decisions = np.zeros_like(y_true)
    for tune, apply in (halves, halves[::-1]):
        w, _ = choose_mix(y_true[tune], encoder[tune], lexical[tune])
        thresholds = tune_thresholds(y_true[tune], w * encoder[tune] + (1 - w) * lexical[tune],
                                     max(1, min_support // 2))
        decisions[apply] = w * encoder[apply] + (1 - w) * lexical[apply] >= thresholds
    return multilabel_metrics(y_true, decisions)


class DevEvaluation(keras.callbacks.Callback):
    """After each epoch: dev micro/macro P/R/F1, printed; keeps the best epoch's weights.

    The best epoch is the one with the highest dev micro-F1 at its best single threshold, so
    losses whose probabilities sit lower (focal, weighted) are not judged at an arbitrary 0.5.

    With the lexical branch (`mix` = the model's BranchMix layer, `predictor` over the branch
    model), the encoder weight w of the mix is chosen here too: the w of MIX_GRID whose mixed
    probabilities score best; each branch's own figure is logged beside it.
    """

    def __init__(self, predictor: Predictor, token_ids, y_true: np.ndarray, threshold: float,
                 log: Callable[[str], None], mix: BranchMix | None = None):
        super().__init__()
        self.predictor, self.token_ids, self.y_true = predictor, token_ids, y_true
        self.threshold, self.log, self.mix = threshold, log, mix
        self.best_score, self.best_epoch, self.best_weights, self.best_mix = -1.0, 0, None, None
        self.history: list[dict] = []

    def _mixed(self, probs: np.ndarray) -> tuple[np.ndarray, dict]:
        """Branch probabilities side by side -> (mixed probabilities at the best w, figures)."""
        encoder, lexical = split_branches(probs)
        weight, scores = choose_mix(self.y_true, encoder, lexical)
        self.mix.encoder_weight.assign(weight)
        figures = {"encoder_weight": weight, "encoder_alone": scores[1.0], "lexical_alone": scores[0.0]}
        return weight * encoder + (1 - weight) * lexical, figures

    def on_epoch_end(self, epoch, logs=None):
        probs = self.predictor.probabilities_from_ids(self.token_ids)
        figures = {}
        if self.mix is not None:
            probs, figures = self._mixed(probs)
        report = dev_report(self.y_true, probs, self.threshold)
        score = report["best"]["micro"]["f1"]
        self.history.append({"epoch": epoch + 1, "loss": float((logs or {}).get("loss", math.nan)),
                             "dev_micro_f1": report["fixed"]["micro"]["f1"],
                             "dev_micro_f1_best_threshold": score,
                             "best_threshold": report["best_threshold"], **figures})
        if figures:
            self.log(f"epoch {epoch + 1}: dev micro F1 encoder alone {figures['encoder_alone']:.4f}, "
                     f"lexical alone {figures['lexical_alone']:.4f}, mixed with encoder weight "
                     f"{figures['encoder_weight']:g}")
        mark = ""
        if score > self.best_score:
            self.best_score, self.best_epoch = score, epoch + 1
            self.best_weights = self.model.get_weights()
            self.best_mix = figures.get("encoder_weight")
            mark = "  *best"
        best_name = "@%g" % report["best_threshold"]
        self.log(f"epoch {epoch + 1}: dev {_line('@%g' % self.threshold, report['fixed'])}")
        self.log(f"epoch {epoch + 1}: dev {_line(best_name, report['best'])}{mark}")

    def restore_best(self):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        if self.best_mix is not None:
            self.mix.encoder_weight.assign(self.best_mix)


def train_relation(settings, out: str | Path, log: Callable[[str], None] = print,
                   verbose: int | None = None, train_notes=None, dev_notes=None) -> dict:
    """Train on the project's CMeIE split and, with `relation.notes`, the windows of the annotated
    notes (data.emr_re_train, dev data.emr_re_dev, or the notes given) read as the pipeline reads
    them (`X@window`, etl/data/note_windows.py); write the model folder `out`; returns metrics.

    The folder is built beside `out` (`<out>.partial`) and moved into place at the end, so an
    interrupted run never leaves a half-written model where the pipeline looks for one.
    """
    from etl.config import as_dict
    from etl.data.examples import relation_examples
    from etl.data.split import load_split
    from etl.schema import load_schema

    rel = settings.relation
    out = Path(out)
    keras.utils.set_random_seed(rel.seed)
    schema = load_schema()
    labels = schema.predicate_names
    train_samples, dev_samples = load_split(settings)
    if rel.max_train_samples:
        train_samples = train_samples[: rel.max_train_samples]
    note_counts = None
    if rel.notes:
        train_windows, dev_windows = _note_windows(settings, train_notes, dev_notes)
        note_counts = {"train_windows": len(train_windows), "dev_windows": len(dev_windows)}
        train_samples, dev_samples = list(train_samples) + train_windows, list(dev_samples) + dev_windows
    train = relation_examples(train_samples, schema)
    dev = relation_examples(dev_samples, schema)

    pretrain_samples = []
    if rel.pretrain_epochs and not rel.encoder_checkpoint:  # a checkpoint is already pretrained
        from etl.models.relation.pretrain import cmeee_pretraining_samples

        pretrain_samples = cmeee_pretraining_samples(settings.data.cmeee_train, [e.text for e in dev],
                                                     rel.pretrain_max_samples)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2  # progress bar on a terminal, one line per epoch in logs

    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    checkpoint = stage_encoder("relation", settings.relation, settings.data.vocab,
                               [e.text for e in train] + [s.text for s in pretrain_samples], staging)
    tokenizer = load_tokenizer(staging / "vocab.txt")
    max_length = rel.buckets[-1]
    train_ids = encode_texts(tokenizer, [e.text for e in train], max_length)
    dev_ids = encode_texts(tokenizer, [e.text for e in dev], max_length)
    lexical = None
    if rel.lexical:
        lexical = LexicalFeatures.build(train_ids, tokenizer._vocab_size, rel.bigram_min_count)
    model, encoder = build_relation_model(staging / "encoder_config.json", checkpoint, rel.head, len(labels),
                                          rel.head_dropout, lexical_features=lexical.size if lexical else 0,
                                          lexical_scale=rel.lexical_scale, lexical_l2=rel.lexical_l2)
    branches = branch_model(model)  # None without the lexical branch
    trained = branches or model
    pretrain_seconds, pretraining = 0.0, None
    if pretrain_samples:
        from etl.models.relation.pretrain import pretrain_encoder

        sequence = encoder.model.get_layer("Pooler").input if rel.head == "cls" else encoder.model.output
        started = time.perf_counter()
        pretraining = pretrain_encoder(encoder, sequence, tokenizer, pretrain_samples, rel, log, verbose)
        pretrain_seconds = time.perf_counter() - started

    y_train = label_matrix([e.labels for e in train], len(labels))
    y_dev = label_matrix([e.labels for e in dev], len(labels))
    counts = y_train.sum(0)

    batches = BucketBatches(train_ids, y_train, rel.buckets, rel.batch_size, rel.seed,
                            rel.token_dropout, tokenizer.token_to_id("[UNK]"), lexical, len(trained.outputs))
    total_steps = len(batches) * rel.epochs
    loss = make_loss(rel.loss, counts, len(train), rel.focal_gamma, rel.focal_alpha)
    # with the lexical branch: one loss per branch (they share no weights, so each learns alone)
    trained.compile(optimizer=make_optimizer(rel.learning_rate, total_steps, rel.warmup_ratio, rel.clip_norm),
                    loss=[loss] * len(trained.outputs))
    predictor = Predictor(model, tokenizer, rel.buckets, max(rel.batch_size, 64), lexical)
    evaluation = DevEvaluation(Predictor(trained, tokenizer, rel.buckets, max(rel.batch_size, 64), lexical),
                               dev_ids, y_dev, rel.threshold, log,
                               model.get_layer(MIX_LAYER) if branches is not None else None)

    log(f"relation: {len(train)} train / {len(dev)} dev texts, {len(labels)} predicates, "
        f"head {rel.head}, loss {rel.loss}, {rel.epochs} epochs x {len(batches)} batches, "
        f"{model.count_params():,} parameters, "
        f"encoder {'checkpoint ' + str(checkpoint) if checkpoint else 'from scratch'}"
        + (f", lexical branch over {lexical.size:,} characters and bigrams" if lexical else ""))
    started = time.perf_counter()
    trained.fit(batches, epochs=rel.epochs, shuffle=False, callbacks=[evaluation], verbose=verbose)
    train_seconds = time.perf_counter() - started
    evaluation.restore_best()

    probs = predictor.probabilities_from_ids(dev_ids)
    report = dev_report(y_dev, probs, rel.threshold)
    mix_crossfit = None
    if branches is not None:
        mix_crossfit = crossfit_mix(y_dev, *split_branches(evaluation.predictor.probabilities_from_ids(dev_ids)),
                                    rel.threshold_min_support)
    thresholds = tune_thresholds(y_dev, probs, rel.threshold_min_support)
    metrics = {
        "dev_texts": len(dev), "train_texts": len(train), "notes": note_counts,
        "best_epoch": evaluation.best_epoch, "epochs": rel.epochs,
        f"dev_at_{rel.threshold:g}": report["fixed"],
        "dev_best_global_threshold": {"threshold": report["best_threshold"], **report["best"]},
        "dev_tuned_thresholds_in_sample": multilabel_metrics(y_dev, probs >= thresholds),
        "dev_tuned_thresholds_crossfit": crossfit_metrics(y_dev, probs, rel.threshold_min_support),
        # lexical branch: the mix weight chosen on the tuning half too (the whole rule cross-fitted)
        "dev_mix_and_thresholds_crossfit": mix_crossfit,
        "pretraining": pretraining,
        "pretrain_seconds": round(pretrain_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(pretrain_seconds + train_seconds, 1),
        "parameters": int(model.count_params()),
        "lexical_features": lexical.size if lexical else 0,
        "encoder_weight": evaluation.best_mix,
        "history": evaluation.history,
    }
    log(f"best epoch {evaluation.best_epoch}: dev {_line('@%g' % rel.threshold, report['fixed'])}")
    log(f"tuned thresholds (cross-fit on dev): {_line('', metrics['dev_tuned_thresholds_crossfit'])}")
    if mix_crossfit is not None:
        log(f"mix weight + thresholds (cross-fit on dev): {_line('', mix_crossfit)}")

    settings_record = {"relation": as_dict(settings)["relation"], "data": as_dict(settings)["data"],
                       "label_counts": {label: int(c) for label, c in zip(labels, counts)}}
    version = save_relation_folder(staging, model, labels, rel.head, rel.buckets, rel.batch_size,
                                   thresholds, settings_record, metrics, lexical, rel.lexical_scale)
    metrics["version"] = version

    model_folder.replace_folder(staging, out)
    size = sum(p.stat().st_size for p in out.iterdir())
    log(f"wrote {out} ({size / 1e6:.1f} MB, version {version}, "
        f"trained in {(pretrain_seconds + train_seconds) / 60:.1f} min)")
    return metrics


def _note_windows(settings, train_notes=None, dev_notes=None) -> tuple[list, list]:
    """The annotated notes' windows as relation samples (passage text + the predicates it holds)."""
    from etl.data.emr_re import read_notes
    from etl.data.note_windows import note_passages
    from etl.models.assertion.rules import ContextRules

    rules, size = ContextRules.load(), (settings.windows.max_chars, settings.windows.overlap_chars)
    train_notes = read_notes(settings.data.emr_re_train) if train_notes is None else train_notes
    dev_notes = read_notes(settings.data.emr_re_dev) if dev_notes is None else dev_notes
    return ([p.sample for p in note_passages(train_notes, *size, rules)],
            [p.sample for p in note_passages(dev_notes, *size, rules)])

