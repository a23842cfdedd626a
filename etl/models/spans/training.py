"""Training of the span extractor: `train_spans(settings, out)` -> a self-contained model folder.

Data: CMeIE train split -> multi-turn questions (etl/data/examples.py) + empty-answer negatives;
optionally CMeEE entity questions, a fresh random `cmeee_ratio` share of the CMeIE question count
each epoch (so CMeEE adds signal without swamping the 2,500 CMeIE texts).

Lexicon (`spans.lexicon`): entity strings of the CMeIE train split and of CMeEE (train + dev files,
minus the sentences shared with the CMeIE dev split) become `lexicon.tsv`; each training text sees
the lexicon without the entries only its own fold gave (etl/models/spans/lexicon.py).

Loop: a custom `tf.function` step over fixed-shape batches (one trace per length bucket; partial
batches are padded with zero-mask rows), Adam with warm-up + linear decay and clipping. After every
epoch the dev split's span P/R/F1 (gold relations, gold subjects in turn 2) is printed and the best
epoch's weights are kept. At the end the weights are rounded to float16 (the storage format), the
dev figures and the end-to-end oracle triple F1 are measured on exactly those weights, and the
folder is written beside `out` and moved into place (an interrupted run leaves the old model).
"""
from __future__ import annotations

import random
import shutil
import time
from pathlib import Path
from typing import Callable

from etl.compat import keras, tf
from etl.models import folder as model_folder
from etl.models.encoder import stage_encoder
from etl.models.spans.lexicon import Lexicon
from etl.models.spans.data import (QuestionEncoder, batches, cmeee_examples, drop_overlapping, model_inputs,
                                  negative_examples)
from etl.models.spans.evaluation import end_to_end, span_scores, tune_threshold
from etl.models.folder import round_to_f16, save_weights_f16
from etl.models.spans.model import KIND, SpanExtractor, build_model, labels_for, mean_pointer_loss
from etl.models.tokens import load_tokenizer
from etl.models.training import make_optimizer



def _line(name: str, m: dict) -> str:
    return f"{name} P {m['precision']:.4f} R {m['recall']:.4f} F1 {m['f1']:.4f}"


def train_spans(settings, out: str | Path, log: Callable[[str], None] = print, *,
                train_samples=None, dev_samples=None, cmeee_samples=None, lexicon_cmeee=None) -> dict:
    """Train on the project's CMeIE split (or the samples given, for tests) and write `out`.

    `cmeee_samples` (CMeEE training questions) and `lexicon_cmeee` (CMeEE sentences for the lexicon)
    default to the configured files. Returns the metrics written to metrics.json.
    """
    from etl.config import as_dict
    from etl.data.examples import mrc_examples
    from etl.data.split import load_split
    from etl.schema import load_schema

    spans, out = settings.spans, Path(out)
    keras.utils.set_random_seed(spans.seed)
    rng = random.Random(spans.seed)
    schema = load_schema()
    if train_samples is None or dev_samples is None:
        train_samples, dev_samples = load_split(settings)
    train = mrc_examples(train_samples, schema)
    negatives = negative_examples(train_samples, schema, spans.negatives_per_text, spans.seed)
    dev = mrc_examples(dev_samples, schema)
    dev_texts = [s.text for s in dev_samples]
    cmeee, lexicon, folds = [], None, {}
    if spans.with_cmeee or spans.lexicon:
        from etl.data.cmeee import read_cmeee
        if cmeee_samples is None:
            cmeee_samples = list(read_cmeee(settings.data.cmeee_train))
        cmeee_samples = drop_overlapping(cmeee_samples, dev_texts)
    if spans.with_cmeee:
        cmeee = cmeee_examples(cmeee_samples)
    if spans.lexicon:
        if lexicon_cmeee is None:
            lexicon_cmeee = cmeee_samples + drop_overlapping(read_cmeee(settings.data.cmeee_dev), dev_texts)
        lexicon, cmeie_folds, cmeee_folds = Lexicon.build(list(schema.entity_types), train_samples, lexicon_cmeee)
        folds = {s.text: f for s, f in zip(train_samples, cmeie_folds)}
        for sample, fold in zip(lexicon_cmeee, cmeee_folds):
            folds.setdefault(sample.text, fold)

    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    labels = labels_for(schema)
    vocab_texts = [e.text for e in train] + [e.query for e in train + negatives + cmeee] + \
                  [e.text for e in cmeee] + [q for p in labels["predicates"].values() for q in p.values()]
    checkpoint = stage_encoder("spans", spans, settings.data.vocab, vocab_texts, staging)
    model = build_model(staging / "encoder_config.json", checkpoint,
                        lexicon_features=lexicon.features if lexicon is not None else 0)
    tokenizer = load_tokenizer(str(staging / "vocab.txt"))
    encoder = QuestionEncoder(tokenizer, spans.buckets[-1], lexicon)

    def encode(examples):  # training texts see their fold's lexicon (None without a lexicon)
        return [encoder.encode(e.query, e.text, e.spans, folds.get(e.text), e.subject) for e in examples]

    cmeie_encoded, cmeee_encoded = encode(train + negatives), encode(cmeee)
    lost = sum(e.dropped for e in cmeie_encoded)
    per_epoch = len(cmeie_encoded) + (int(len(cmeie_encoded) * spans.cmeee_ratio) if cmeee else 0)
    steps_per_epoch = -(-per_epoch // spans.batch_size) + len(spans.buckets)  # + partial batches
    optimizer = make_optimizer(spans.learning_rate, steps_per_epoch * spans.epochs, spans.warmup_ratio,
                               spans.clip_norm)
    extractor = SpanExtractor(model, tokenizer, labels, buckets=spans.buckets, batch_size=max(spans.batch_size, 64),
                              start_threshold=spans.start_threshold, end_threshold=spans.end_threshold,
                              max_span_len=spans.max_span_len, lexicon=lexicon)

    @tf.function
    def train_step(inputs, labels_, mask):
        with tf.GradientTape() as tape:
            logits = model(inputs, training=True)
            loss = mean_pointer_loss(labels_, logits, mask, spans.positive_weight)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    log(f"spans: {len(train_samples)} train texts -> {len(train)} questions + {len(negatives)} negatives"
        f"{f' + {len(cmeee)} CMeEE questions ({spans.cmeee_ratio:g} share per epoch)' if cmeee else ''}; "
        f"{len(dev)} dev questions; {lost} gold spans lost to truncation; "
        f"{f'lexicon of {len(lexicon):,} entity strings; ' if lexicon is not None else ''}"
        f"{model.count_params():,} parameters, "
        f"encoder {'checkpoint ' + str(checkpoint) if checkpoint else 'from scratch'}, {spans.epochs} epochs")
    history, best = [], {"f1": -1.0, "epoch": 0, "weights": None}
    started = time.perf_counter()
    for epoch in range(1, spans.epochs + 1):
        epoch_started = time.perf_counter()
        epoch_items = cmeie_encoded + (rng.sample(cmeee_encoded, min(len(cmeee_encoded), per_epoch - len(cmeie_encoded)))
                                       if cmeee else [])
        losses = []
        for _, batch in batches(epoch_items, spans.buckets, spans.batch_size, rng):
            losses.append(float(train_step([tf.constant(x) for x in model_inputs(batch)],
                                           tf.constant(batch["labels"]), tf.constant(batch["mask"]))))
        train_seconds = time.perf_counter() - epoch_started
        scores = span_scores(extractor, dev)
        row = {"epoch": epoch, "loss": round(sum(losses) / max(len(losses), 1), 5),
               "seconds": round(time.perf_counter() - epoch_started, 1), **scores["micro"]}
        history.append(row)
        log(f"epoch {epoch}/{spans.epochs}: loss {row['loss']:.4f}  dev span {_line('', scores['micro'])}"
            f"  (turn1 F1 {scores['turn1']['f1']:.3f}, turn2 F1 {scores['turn2']['f1']:.3f}; "
            f"train {train_seconds:.0f}s, total {row['seconds']:.0f}s)")
        if scores["micro"]["f1"] > best["f1"]:
            best = {"f1": scores["micro"]["f1"], "epoch": epoch, "weights": model.get_weights()}
    train_seconds = time.perf_counter() - started
    if best["weights"] is not None:
        model.set_weights(best["weights"])
    round_to_f16(model)

    tuning, report = [], None
    if spans.threshold_grid:
        threshold, tuning, report = tune_threshold(extractor, dev_samples, spans.threshold_grid)
        labels = dict(labels, decoding={"start_threshold": threshold, "end_threshold": threshold})
        log("decoding threshold on dev (triple F1, gold relations): "
            + ", ".join(f"{row['threshold']:g}: {row['f1']:.4f}" for row in tuning) + f" -> {threshold:g}")
    final = span_scores(extractor, dev)
    if report is None:  # no tuning: the end-to-end figure at the configured threshold
        report, _ = end_to_end(extractor, dev_samples)
    metrics = {
        "kind": KIND,
        "dev_span": final["micro"], "dev_span_turn1": final.get("turn1"), "dev_span_turn2": final.get("turn2"),
        "dev_triples_oracle_relations": report.micro.as_dict(),
        "best_epoch": best["epoch"], "epochs": spans.epochs,
        "train_texts": len(train_samples), "dev_texts": len(dev_samples),
        "lexicon_entries": len(lexicon) if lexicon is not None else 0,
        "train_questions": len(train), "negative_questions": len(negatives),
        "cmeee_questions_per_epoch": per_epoch - len(cmeie_encoded), "dev_questions": len(dev),
        "train_seconds": round(train_seconds, 1), "parameters": int(model.count_params()),
        "thresholds": {"start": extractor.start_threshold, "end": extractor.end_threshold},
        "threshold_tuning": tuning,
        "history": history,
    }
    log(f"best epoch {best['epoch']} (float16 weights, threshold {extractor.start_threshold:g}): "
        f"dev span {_line('', final['micro'])}; "
        f"end-to-end oracle-relation triples {_line('', metrics['dev_triples_oracle_relations'])}")

    save_weights_f16(model, staging / "weights.h5")
    if lexicon is not None:
        lexicon.save(staging / "lexicon.tsv")
    model_folder.write_json(staging / "labels.json", labels)
    model_folder.write_json(staging / "settings.json",
                            {"spans": as_dict(settings)["spans"], "data": as_dict(settings)["data"]})
    version = model_folder.folder_version(KIND, staging)
    (staging / "version.txt").write_text(version + "\n", encoding="utf-8")
    metrics["version"] = version
    metrics["folder_bytes"] = sum(p.stat().st_size for p in staging.iterdir())
    model_folder.write_json(staging / "metrics.json", metrics)
    model_folder.replace_folder(staging, out)
    log(f"wrote {out} ({metrics['folder_bytes'] / 1e6:.1f} MB, version {version}, "
        f"trained in {train_seconds / 60:.1f} min)")
    return metrics
