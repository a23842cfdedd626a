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
from etl.models.spans.knowledge import FILE as KNOWLEDGE_FILE, FindingKnowledge
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
                train_samples=None, dev_samples=None, cmeee_samples=None, lexicon_cmeee=None,
                train_notes=None, dev_notes=None, entity_notes=None) -> dict:
    """Train on the project's CMeIE split (or the samples given, for tests) and, with
    `spans.notes`, the annotated notes of data.emr_re_train / data.emr_re_dev (or those given),
    and write `out`.

    `cmeee_samples` (CMeEE training questions) and `lexicon_cmeee` (CMeEE sentences for the lexicon)
    default to the configured files; `entity_notes` (notes with gold entities only) defaults to
    data.note_entities. Returns the metrics written to metrics.json.
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
    notes = _note_data(settings, train_notes, dev_notes, entity_notes, schema) if spans.notes else None
    train = mrc_examples(train_samples, schema)
    negatives = negative_examples(train_samples, schema, spans.negatives_per_text, spans.seed)
    dev = mrc_examples(dev_samples, schema)
    dev_texts = [s.text for s in dev_samples]
    if notes is not None:  # the notes' questions, `note_repeat` times an epoch (the register that matters)
        train += notes.train_questions * spans.note_repeat
        negatives += notes.negatives * spans.note_repeat
        dev += notes.dev_questions
        dev_texts += notes.dev_texts
    cmeee, lexicon, folds = [], None, {}
    if spans.with_cmeee or spans.lexicon:
        from etl.data.cmeee import read_cmeee
        if cmeee_samples is None:
            cmeee_samples = list(read_cmeee(settings.data.cmeee_train))
        cmeee_samples = drop_overlapping(cmeee_samples, dev_texts)
    if spans.with_cmeee:
        cmeee = cmeee_examples(cmeee_samples)
    if notes is not None:
        cmeee += notes.entity_questions  # sampled per epoch with the CMeEE questions
    if spans.lexicon:
        if lexicon_cmeee is None:
            lexicon_cmeee = cmeee_samples + drop_overlapping(read_cmeee(settings.data.cmeee_dev), dev_texts)
        note_samples, note_entities = notes.lexicon_sources if notes is not None else ([], [])
        lexicon, cmeie_folds, cmeee_folds = Lexicon.build(list(schema.entity_types), list(train_samples) + note_samples,
                                                          list(lexicon_cmeee) + note_entities)
        folds = {s.text: f for s, f in zip(list(train_samples) + note_samples, cmeie_folds)}
        for sample, fold in zip(list(lexicon_cmeee) + note_entities, cmeee_folds):
            folds.setdefault(sample.text, fold)
        if notes is not None:  # a note's windows (and their passages) see the lexicon as the note does
            for note_text, texts in notes.window_texts.items():
                for text in texts:
                    folds.setdefault(text, folds[note_text])

    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    labels = labels_for(schema, main_condition=notes is not None)
    vocab_texts = [e.text for e in train] + [e.query for e in train + negatives + cmeee] + \
                  [e.text for e in cmeee] + [q for p in labels["predicates"].values() for q in p.values()]
    checkpoint = stage_encoder("spans", spans, settings.data.vocab, vocab_texts, staging)
    model = build_model(staging / "encoder_config.json", checkpoint,
                        lexicon_features=lexicon.features if lexicon is not None else 0)
    if spans.init_model:
        _init_from(model, staging, Path(spans.init_model), log)
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
        f"encoder {'checkpoint ' + str(checkpoint) if checkpoint else 'from scratch'}, {spans.epochs} epochs"
        + (f"; notes: {notes.summary}" if notes is not None else "")
        + (f"; weights from {spans.init_model}" if spans.init_model else ""))
    history, best = [], {"f1": -1.0, "epoch": 0, "weights": None}
    started = time.perf_counter()
    for epoch in range(1, spans.epochs + 1):
        epoch_started = time.perf_counter()
        epoch_items = cmeie_encoded + (rng.sample(cmeee_encoded,
                                                  min(len(cmeee_encoded), per_epoch - len(cmeie_encoded)))
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
            f"  (turn1 F1 {scores['turn1']['f1']:.3f}, turn2 F1 {scores['turn2']['f1']:.3f}"
            + (f", main condition F1 {scores['main']['f1']:.3f}" if "main" in scores else "") + "; "
            f"train {train_seconds:.0f}s, total {row['seconds']:.0f}s)")
        if scores["micro"]["f1"] > best["f1"]:
            best = {"f1": scores["micro"]["f1"], "epoch": epoch, "weights": model.get_weights()}
    train_seconds = time.perf_counter() - started
    if best["weights"] is not None:
        model.set_weights(best["weights"])
    round_to_f16(model)

    decoding, measured = tune_and_measure(extractor, dev, dev_samples, notes.dev_samples if notes else None,
                                          spans.threshold_grid, log)
    if decoding is not None:
        labels = dict(labels, decoding=decoding)
    metrics = {
        "kind": KIND, **measured,
        "notes": notes.counts if notes is not None else None,
        "best_epoch": best["epoch"], "epochs": spans.epochs,
        "train_texts": len(train_samples), "dev_texts": len(dev_samples),
        "lexicon_entries": len(lexicon) if lexicon is not None else 0,
        "train_questions": len(train), "negative_questions": len(negatives),
        "cmeee_questions_per_epoch": per_epoch - len(cmeie_encoded), "dev_questions": len(dev),
        "train_seconds": round(train_seconds, 1), "parameters": int(model.count_params()),
        "history": history,
    }
    log(f"best epoch {best['epoch']} (float16 weights, threshold {extractor.start_threshold:g}): "
        f"dev span {_line('', measured['dev_span'])}; "
        f"end-to-end oracle-relation triples {_line('', metrics['dev_triples_oracle_relations'])}")

    save_weights_f16(model, staging / "weights.h5")
    if lexicon is not None:
        lexicon.save(staging / "lexicon.tsv")
    knowledge = FindingKnowledge.build(knowledge_triples(train_samples, notes.train_notes if notes else ()))
    knowledge.save(staging / KNOWLEDGE_FILE)
    metrics["knowledge_triples"] = len(knowledge)
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


def tune_and_measure(extractor, dev, dev_samples, note_samples, grid, log) -> tuple[dict | None, dict]:
    """Decoding thresholds (with a `grid`) and the dev figures at them: (labels.json's `decoding`
    or None, metrics). One threshold per register: the notes' on their dev windows (`X@window`,
    gold relations), the texts' on the CMeIE dev split; the pipeline decodes a note's passages at
    the first. Leaves `extractor` at the chosen thresholds."""
    decoding, note_tuning, note_report = None, [], None
    if grid:
        decoding = {}
        if note_samples is not None:
            note_threshold, note_tuning, note_report = tune_threshold(extractor, note_samples, grid)
            decoding["notes"] = {"start_threshold": note_threshold, "end_threshold": note_threshold}
            log("decoding threshold on the dev notes' windows (triple F1, gold relations): "
                + ", ".join(f"{row['threshold']:g}: {row['f1']:.4f}" for row in note_tuning)
                + f" -> {note_threshold:g}")
        threshold, tuning, report = tune_threshold(extractor, dev_samples, grid)
        decoding = {"start_threshold": threshold, "end_threshold": threshold, **decoding}
        log("decoding threshold on dev (triple F1, gold relations): "
            + ", ".join(f"{row['threshold']:g}: {row['f1']:.4f}" for row in tuning) + f" -> {threshold:g}")
    else:  # no tuning: the end-to-end figures at the configured threshold
        tuning, (report, _) = [], end_to_end(extractor, dev_samples)
        if note_samples is not None:
            note_report, _ = end_to_end(extractor, note_samples)
    extractor.note_threshold = (decoding or {}).get("notes", {}).get("start_threshold")
    final = span_scores(extractor, dev)
    return decoding, {
        "dev_span": final["micro"], "dev_span_turn1": final.get("turn1"), "dev_span_turn2": final.get("turn2"),
        "dev_span_main_condition": final.get("main"),
        "dev_triples_oracle_relations": report.micro.as_dict(),
        "dev_notes_triples_oracle_relations": note_report.micro.as_dict() if note_report is not None else None,
        "thresholds": {"start": extractor.start_threshold, "end": extractor.end_threshold,
                       "notes": extractor.note_threshold},
        "threshold_tuning": tuning, "threshold_tuning_notes": note_tuning,
    }


def knowledge_triples(samples, notes=()) -> list[tuple[str, str, str]]:
    """The (subject, predicate, object) triples of the training texts (CMeIE) and notes: the span
    model's knowledge of which disease a finding belongs to (etl/models/spans/knowledge.py)."""
    return [(t.subject, t.predicate, t.object) for s in samples for t in s.triples] + \
        [t.key for note in notes for t in note.triples]


def write_knowledge(settings, folder: str | Path, log: Callable[[str], None] = print) -> str:
    """Write a trained folder's `knowledge.tsv` again from today's training data (the CMeIE train
    split and, with spans.notes, data.emr_re_train) and re-version the folder (the notes' attribution changes); the
    weights stay. Returns the new version."""
    from etl.data.emr_re import read_notes
    from etl.data.split import load_split

    folder = model_folder.check_folder(folder, KIND)
    notes = read_notes(settings.data.emr_re_train) if settings.spans.notes else ()  # as training takes them
    knowledge = FindingKnowledge.build(knowledge_triples(load_split(settings)[0], notes))
    knowledge.save(folder / KNOWLEDGE_FILE)
    version = model_folder.folder_version(KIND, folder)
    (folder / "version.txt").write_text(version + "\n", encoding="utf-8")
    metrics = dict(model_folder.read_json(folder / "metrics.json"), knowledge_triples=len(knowledge), version=version)
    model_folder.write_json(folder / "metrics.json", metrics)
    log(f"wrote {folder / KNOWLEDGE_FILE} ({len(knowledge):,} subject-finding pairs), version {version}")
    return version


def retune_spans(settings, folder: str | Path, log: Callable[[str], None] = print) -> dict:
    """Tune a trained folder's decoding thresholds again on today's dev data (the CMeIE split and,
    for a model trained with notes, data.emr_re_dev) and re-measure it: labels.json, metrics.json
    and version.txt are rewritten, the weights stay. For new dev notes, or a folder trained before
    the thresholds were tuned per register."""
    from etl.data.emr_re import read_notes
    from etl.data.examples import mrc_examples
    from etl.data.note_windows import main_condition_examples, note_passages
    from etl.data.split import load_split
    from etl.models.assertion.rules import ContextRules
    from etl.schema import load_schema

    folder = model_folder.check_folder(folder, KIND)
    extractor = SpanExtractor.load(folder)
    schema, dev_samples = load_schema(), load_split(settings)[1]
    dev, note_samples = mrc_examples(dev_samples, schema), None
    if extractor.main_condition_query is not None:
        size, rules = (settings.windows.max_chars, settings.windows.overlap_chars), ContextRules.load()
        dev_notes = list(read_notes(settings.data.emr_re_dev))
        note_samples = [p.sample for p in note_passages(dev_notes, *size, rules)]
        dev += mrc_examples(note_samples, schema) + main_condition_examples(dev_notes, *size, rules)
    decoding, measured = tune_and_measure(extractor, dev, dev_samples, note_samples,
                                          settings.spans.threshold_grid, log)
    labels = model_folder.read_json(folder / "labels.json")
    if decoding is not None:
        labels["decoding"] = decoding
    model_folder.write_json(folder / "labels.json", labels)
    metrics = {**model_folder.read_json(folder / "metrics.json"), **measured,
               "retuned": f"thresholds tuned per register on {settings.data.emr_re_dev} and the CMeIE dev split"}
    version = model_folder.folder_version(KIND, folder)
    (folder / "version.txt").write_text(version + "\n", encoding="utf-8")
    metrics["version"] = version
    model_folder.write_json(folder / "metrics.json", metrics)
    log(f"re-tuned {folder}: thresholds {measured['thresholds']}, version {version}")
    return metrics


# A "model soup": the mean of the weights of models fine-tuned from one start (a folder trained on
# from another with `--init-model`) lies in their basin and is often better than each. Measured
# here (MODELS.md): the shipped model and the same trained 3 more epochs at a low learning rate,
# averaged, beat both on the notes' windows and on CMeIE dev. Folders with different starts
# (two trainings from the pretrained encoder) average to nothing useful.
SAME_SHAPE = ("encoder_config.json", "vocab.txt", "lexicon.tsv")


def average_spans(settings, folders, out: str | Path, log: Callable[[str], None] = print) -> dict:
    """Write to `out` the mean of the weights of the span model `folders` (same shape: their
    SAME_SHAPE files equal), with the first folder's other files (questions, lexicon, knowledge),
    then tune its decoding thresholds and measure it as `retune_spans` does."""
    import numpy as np

    from etl.errors import ConfigError

    folders = [model_folder.check_folder(f, KIND) for f in folders]
    if len(folders) < 2:
        raise ConfigError("--average needs two span model folders or more")
    first = folders[0]
    for other in folders[1:]:
        for name in SAME_SHAPE:
            mine, theirs = first / name, other / name
            if mine.is_file() != theirs.is_file() or (mine.is_file() and mine.read_bytes() != theirs.read_bytes()):
                raise ConfigError(f"span model folders {first} and {other} differ in {name}: only models of one "
                                  f"shape, trained on from one start (--init-model), can be averaged")
    versions = [model_folder.read_version(f) for f in folders]
    models = [SpanExtractor.load(f).model for f in folders]
    weights = [m.get_weights() for m in models]
    model = models[0]
    model.set_weights([np.mean([w[i] for w in weights], axis=0) for i in range(len(weights[0]))])
    out = Path(out)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(first, staging)
    save_weights_f16(model, staging / "weights.h5")
    for record in ("settings.json", "metrics.json"):
        model_folder.write_json(staging / record,
                                {**model_folder.read_json(staging / record), "averaged_from": versions})
    log(f"averaged the weights of {', '.join(versions)}")
    measured = retune_spans(settings, staging, log=log)
    model_folder.replace_folder(staging, out)
    log(f"wrote {out} ({measured['version']})")
    return measured


class _NoteData:
    """The notes' share of the span model's training (etl/data/note_windows.py)."""

    def __init__(self, settings, train_notes, dev_notes, entity_notes, schema):
        from etl.data.note_windows import (entity_examples, lexicon_sources, main_condition_examples,
                                           main_negatives, note_passages)
        from etl.data.examples import mrc_examples
        from etl.models.assertion.rules import ContextRules

        spans, windows = settings.spans, settings.windows
        size = (windows.max_chars, windows.overlap_chars)
        rules = ContextRules.load()  # denied occurrences are not the annotated findings
        train_passages = note_passages(train_notes, *size, rules)
        dev_passages = note_passages(dev_notes, *size, rules)
        samples = [p.sample for p in train_passages]
        self.train_questions = mrc_examples(samples, schema) + main_condition_examples(train_notes, *size, rules)
        self.negatives = (negative_examples(samples, schema, spans.note_negatives, spans.seed)
                          + main_negatives(train_passages, schema, spans.note_negatives, spans.seed))
        self.dev_samples = [p.sample for p in dev_passages]
        self.dev_questions = mrc_examples(self.dev_samples, schema) + main_condition_examples(dev_notes, *size, rules)
        self.dev_texts = [n.text for n in dev_notes]
        self.entity_questions = []
        if spans.note_entities:
            self.entity_questions = entity_examples(list(train_notes) + list(entity_notes), *size)
        self.lexicon_sources = lexicon_sources(train_notes)
        self.train_notes = list(train_notes)  # the knowledge's share (knowledge_triples)
        self.window_texts: dict[str, list[str]] = {}
        for p in train_passages:
            self.window_texts.setdefault(p.note.text, []).extend([p.window.text, p.sample.text])
        self.counts = {"train_notes": len(train_notes), "dev_notes": len(dev_notes),
                       "train_windows": len(train_passages), "dev_windows": len(dev_passages),
                       "train_questions": len(self.train_questions), "negatives": len(self.negatives),
                       "dev_questions": len(self.dev_questions), "entity_questions": len(self.entity_questions)}
        self.summary = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in self.counts.items())


def _note_data(settings, train_notes, dev_notes, entity_notes, schema) -> _NoteData:
    from etl.data.emr_re import read_notes
    from etl.data.overlap import OverlapFilter

    train_notes = list(read_notes(settings.data.emr_re_train)) if train_notes is None else list(train_notes)
    dev_notes = list(read_notes(settings.data.emr_re_dev)) if dev_notes is None else list(dev_notes)
    if entity_notes is None:
        entity_notes = list(read_notes(settings.data.note_entities)) if settings.spans.note_entities else []
        dev = OverlapFilter([n.text for n in dev_notes])  # never a dev note's sentences
        entity_notes = [n for n in entity_notes if not dev.overlaps(n.text)]
    return _NoteData(settings, train_notes, dev_notes, entity_notes, schema)


def _init_from(model, staging: Path, folder: Path, log: Callable[[str], None]) -> None:
    """Start from a trained span model folder's weights (fine-tuning): its vocab must be the one
    staged for this run (the same encoder checkpoint) and its lexicon channels the same."""
    from etl.errors import ConfigError

    folder = model_folder.check_folder(folder, KIND)
    if (folder / "vocab.txt").read_bytes() != (staging / "vocab.txt").read_bytes():
        raise ConfigError(f"spans.init_model {folder}: its vocab differs from this run's encoder vocab "
                          f"(train from the same spans.encoder_checkpoint)")
    try:
        model.load_weights(str(folder / "weights.h5"))
    except ValueError as error:
        raise ConfigError(f"spans.init_model {folder}: its weights do not fit this model ({error})") from None
    log(f"spans: weights from {folder} ({model_folder.read_version(folder)})")

