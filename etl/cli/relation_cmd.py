"""`etl train relation` and `etl predict relations`: the relation classifier's commands.

Attached to the `train` and `predict` groups by train_cmd.py and predict_cmd.py; TensorFlow is
imported inside the command functions.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import get_args

import click

from etl.cli.options import encoder_checkpoint_choice, note_choice, note_options
from etl.config import RelationHead, RelationLoss, replace
from etl.data.text_rows import read_text_rows


@click.command("relation")
@click.option("--encoder-checkpoint", type=click.Path(file_okay=False, path_type=Path),
              help="Google-format checkpoint folder (config json + model.ckpt* + vocab.txt), e.g. "
                   "albert_base_zh. Default: relation.encoder_checkpoint; empty = from scratch.")
@click.option("--from-scratch", is_flag=True,
              help="Random initial encoder weights, ignoring relation.encoder_checkpoint (for comparisons).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Model folder to write (default: relation.model_dir). Replaced when training ends.")
@click.option("--epochs", type=click.IntRange(min=1), help="Training epochs (default: relation.epochs).")
@click.option("--max-train", type=click.IntRange(min=1),
              help="Use only the first N training texts (quick runs; default: all).")
@click.option("--loss", type=click.Choice(get_args(RelationLoss)), help="Default: relation.loss.")
@click.option("--head", type=click.Choice(get_args(RelationHead)), help="Default: relation.head.")
@click.option("--tune-notes", is_flag=True,
              help="Train nothing: choose the decision for notes' passages of the folder (--out, default "
                   "relation.model_dir: its thresholds' scale and the least triple score) end to end on "
                   "--dev-notes with the configured span and assertion models, and write it into the folder "
                   "as note_thresholds.json.")
@note_options
@click.pass_obj
def train_relation(app, encoder_checkpoint, from_scratch, out, epochs, max_train, loss, head, tune_notes,
                   notes_file, dev_notes_file, with_notes) -> None:
    """Relation classifier (ALBERT, 44 CMeIE predicates, multi-label).

    Trains on the train part of data.cmeie_labeled and, with relation.notes, the windows of
    annotated clinical notes (--notes, default data.emr_re_train) read as `etl run` reads them;
    evaluates on the dev parts (CMeIE dev + --dev-notes) after every epoch (micro/macro F1, P, R),
    keeps the best epoch, tunes per-predicate thresholds on dev and writes encoder config, weights,
    vocab, labels, thresholds, settings, metrics.json and version.txt.
    """
    if tune_notes:
        if encoder_checkpoint or from_scratch or epochs or max_train or loss or head or notes_file \
                or with_notes is not None:
            raise click.UsageError("--tune-notes trains nothing: give only --out and --dev-notes with it")
        folder = out or app.settings.relation.model_dir
        tune_note_thresholds(replace(app.settings, relation__model_dir=folder, data__emr_re_dev=dev_notes_file),
                             folder)
        return
    settings = encoder_checkpoint_choice(app.settings, "relation", encoder_checkpoint, from_scratch)
    settings = replace(settings, relation__epochs=epochs, relation__max_train_samples=max_train,
                       relation__loss=loss, relation__head=head)
    settings = note_choice(settings, "relation", notes_file, dev_notes_file, with_notes)
    from etl.models.relation.training import train_relation as run_training  # TensorFlow only now

    run_training(settings, out or settings.relation.model_dir, log=click.echo)


def tune_note_thresholds(settings, folder: Path) -> None:
    """`--tune-notes`: the scale of the folder's thresholds and the least triple score with the best
    EMR-RE strict F1 that keeps precision, on the dev notes through `etl run`'s path
    (etl/evaluate_notes.py), written as note_thresholds.json."""
    from etl.data.emr_re import read_notes
    from etl.evaluate_notes import notes_run, tune_note_thresholds as tune
    from etl.models.relation.model import save_note_thresholds

    notes = list(read_notes(settings.data.emr_re_dev))
    run = notes_run(settings)
    versions = run.models.versions
    click.echo(f"choosing the note thresholds of {folder} on {len(notes)} notes of {settings.data.emr_re_dev} "
               f"(span model {versions.get('spans')}, scales {list(settings.relation.note_scale_grid)}, "
               f"least triple scores {list(settings.relation.note_min_score_grid)})")
    (scale, least), rows = tune(run, notes, settings.relation.note_scale_grid,
                                settings.relation.note_min_score_grid, log=click.echo)
    version = save_note_thresholds(folder, run.models.relations, scale, least, {
        "chosen_on": str(settings.data.emr_re_dev), "notes": len(notes), "span_model": versions.get("spans"),
        "assertion_model": versions.get("assertion"), "grid": rows})
    click.echo(f"notes' passages: {scale:g} x thresholds.json, least triple score {least:g}; {folder} is now {version}")


@click.command("relations")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="JSONL with a \"text\" per line (CMeIE format works), or a .txt file "
                                  "with one text per line.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="JSONL to write (default: standard output).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Relation model folder (default: relation.model_dir).")
@click.option("--all", "all_predicates", is_flag=True,
              help="Write the probability of every predicate, not only those above their threshold.")
@click.pass_obj
def predict_relations(app, input_path: Path, output: Path | None, model_dir: Path | None, all_predicates: bool) -> None:
    """Predict the CMeIE predicates each text holds.

    Writes one JSON object per input text, in input order:
    {"text": ..., "relations": {predicate: probability}, "model": version}. Texts longer than the
    model's largest bucket (in tokens) are truncated to it.
    """
    from etl.models.folder import validate_folder

    settings = app.settings.relation
    # clear error before TF loads
    folder = validate_folder(model_dir or settings.model_dir, "relation", check_version=False)
    texts = [row["text"] for row in read_text_rows(input_path)]
    from etl.models.registry import load_model

    classifier = load_model("relation", folder, batch_size=settings.batch_size, warm_up=False,
                            buckets=settings.buckets, threshold=settings.threshold)
    results = classifier.probabilities(texts) if all_predicates else classifier.predict(texts)
    handle = open(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        for text, found in zip(texts, results):
            row = {"text": text, "relations": {p: round(v, 4) for p, v in found.items()},
                   "model": classifier.version}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if output:
            handle.close()
    if output:
        click.echo(f"{len(texts)} texts -> {output}", err=True)
