"""`etl train spans` and `etl predict spans`: the MRC span extractor's commands.

The two Click commands are attached to the `train` and `predict` groups (train_cmd.py and
predict_cmd.py add them by one line each), so this module owns only its own options.
TensorFlow is imported inside the command functions.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from etl.cli.options import encoder_checkpoint_choice, note_choice, note_options
from etl.config import replace
from etl.data.text_rows import read_text_rows
from etl.errors import DataError


@click.command("spans")
@click.option("--encoder-checkpoint", type=click.Path(file_okay=False, path_type=Path),
              help="Google-format ELECTRA checkpoint folder (config json + model.ckpt* + vocab.txt). "
                   "Default: spans.encoder_checkpoint; empty = from scratch.")
@click.option("--from-scratch", is_flag=True,
              help="Random initial encoder weights, ignoring spans.encoder_checkpoint (for comparisons).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Model folder to write (default: spans.model_dir). Replaced when training ends.")
@click.option("--epochs", type=click.IntRange(min=1), help="Training epochs (default: spans.epochs).")
@click.option("--with-cmeee/--without-cmeee", default=None,
              help="Add CMeEE entity questions to training (default: spans.with_cmeee).")
@click.option("--cmeee-ratio", type=click.FloatRange(min=0), help="CMeEE questions per epoch as a share "
              "of the CMeIE questions (default: spans.cmeee_ratio).")
@click.option("--negatives", type=click.FloatRange(min=0),
              help="Empty-answer questions per text and turn (default: spans.negatives_per_text).")
@click.option("--max-train", type=click.IntRange(min=1), help="Use only the first N training texts (quick runs).")
@click.option("--init-model", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Start from this span model folder's weights (fine-tuning, e.g. models/spans on your "
                   "own notes; default: spans.init_model).")
@click.option("--retune", is_flag=True,
              help="Train nothing: tune the decoding thresholds of the folder (--out, default spans.model_dir) "
                   "again on the dev data (CMeIE dev split; --dev-notes for the notes' own) and re-measure it.")
@click.option("--average", "average", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Train nothing: write to --out the mean of the weights of these span model folders (give it "
                   "twice or more; one shape, trained on from one start with --init-model), then tune and "
                   "measure it as --retune does.")
@click.option("--knowledge", "knowledge_only", is_flag=True,
              help="Train nothing: write the folder's knowledge.tsv (which disease the training triples give "
                   "each finding to; a note's attribution) from the CMeIE train split and --notes.")
@note_options
@click.pass_obj
def train_spans(app, encoder_checkpoint, from_scratch, out, epochs, with_cmeee, cmeee_ratio, negatives,
                max_train, init_model, retune, average, knowledge_only, notes_file, dev_notes_file, with_notes) -> None:
    """Span extractor (ELECTRA MRC, start/end pointers, multi-turn subject -> object questions).

    Trains on the train part of data.cmeie_labeled (optionally plus CMeEE entity questions) and,
    with spans.notes, on the windows of annotated clinical notes (--notes, default data.emr_re_train)
    read as `etl run` reads them, with the main-condition question; prints dev span
    precision/recall/F1 after every epoch (CMeIE dev + --dev-notes), keeps the best epoch, and
    writes encoder config, weights (float16), vocab, labels (questions, types), settings,
    metrics.json and version.txt.
    """
    settings = encoder_checkpoint_choice(app.settings, "spans", encoder_checkpoint, from_scratch)
    settings = replace(settings, spans__epochs=epochs, spans__with_cmeee=with_cmeee,
                       spans__cmeee_ratio=cmeee_ratio, spans__negatives_per_text=negatives,
                       spans__init_model=init_model)
    settings = note_choice(settings, "spans", notes_file, dev_notes_file, with_notes)
    if average:
        if retune or knowledge_only or any((encoder_checkpoint, from_scratch, epochs, with_cmeee is not None,
                                            cmeee_ratio, negatives, max_train, init_model, notes_file)):
            raise click.UsageError("--average trains nothing: give only --out and --dev-notes with it")
        from etl.models.spans.training import average_spans

        average_spans(settings, average, out or settings.spans.model_dir, log=click.echo)
        return
    if knowledge_only:
        if retune or any((encoder_checkpoint, from_scratch, epochs, with_cmeee is not None, cmeee_ratio, negatives,
                          max_train, init_model, dev_notes_file)):
            raise click.UsageError("--knowledge trains nothing: give only --out and --notes with it")
        from etl.models.spans.training import write_knowledge

        write_knowledge(settings, out or settings.spans.model_dir, log=click.echo)
        return
    if retune:
        if any((encoder_checkpoint, from_scratch, epochs, with_cmeee is not None, cmeee_ratio, negatives,
                max_train, init_model, notes_file)):
            raise click.UsageError("--retune trains nothing: give only --out and --dev-notes with it")
        from etl.models.spans.training import retune_spans

        retune_spans(settings, out or settings.spans.model_dir, log=click.echo)
        return
    from etl.data.split import load_split

    train_samples, dev_samples = load_split(settings)
    if max_train:
        train_samples = train_samples[:max_train]
    from etl.models.spans.training import train_spans as run_training  # TensorFlow only now

    run_training(settings, out or settings.spans.model_dir, log=click.echo,
                 train_samples=train_samples, dev_samples=dev_samples)


def relations_of(row: dict, number: int, predicates: list[str], gold: bool) -> dict[str, float]:
    """Which predicates to ask about for one input row (see `predict spans --help`)."""
    if predicates:
        return {p: 1.0 for p in predicates}
    if isinstance(row.get("relations"), dict):
        return {str(p): float(v) for p, v in row["relations"].items()}
    if gold and isinstance(row.get("spo_list"), list):
        return {spo["predicate"]: 1.0 for spo in row["spo_list"] if isinstance(spo, dict) and "predicate" in spo}
    raise DataError(f"input line {number}: no relations to extract (give --predicates, feed the output of "
                    "`etl predict relations`, or use --gold-relations on CMeIE data)")


@click.command("spans")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="JSONL with a \"text\" per line (and \"relations\" as written by "
                                  "`etl predict relations`), or a .txt file with one text per line.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="JSONL to write (default: standard output).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Span model folder (default: spans.model_dir).")
@click.option("--predicates", help="Comma-separated predicates to ask about in every text "
                                   "(instead of the input's \"relations\").")
@click.option("--gold-relations", is_flag=True,
              help="CMeIE input: ask about the predicates of each text's spo_list (oracle relations).")
@click.pass_obj
def predict_spans(app, input_path: Path, output: Path | None, model_dir: Path | None,
                  predicates: str | None, gold_relations: bool) -> None:
    """Extract (subject, predicate, object) triples with character offsets and scores.

    For every input text and every predicate it holds, asks for the subjects, then for each
    subject's objects. Writes CMeIE-format JSONL (usable as `etl evaluate --pred`) in input order:
    {"text", "spo_list": [{predicate, subject, subject_type, object, object_type, subject_offsets,
    object_offsets, score}], "model": version}; offsets are [start, end) characters of the text.
    """
    from etl.models.folder import validate_folder

    # before TensorFlow loads
    folder = validate_folder(model_dir or app.settings.spans.model_dir, "spans", check_version=False)
    rows = read_text_rows(input_path)
    wanted = [p.strip() for p in (predicates or "").split(",") if p.strip()]
    relations = [relations_of(row, i + 1, wanted, gold_relations) for i, row in enumerate(rows)]
    from etl.models.registry import load_model

    extractor = load_model("spans", folder, warm_up=False)
    handle = open(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        for start in range(0, len(rows), 256):
            chunk = [(row["text"], rel) for row, rel in zip(rows[start:start + 256], relations[start:start + 256])]
            for (text, _), triples in zip(chunk, extractor.extract_batch(chunk)):
                handle.write(json.dumps({"text": text, "spo_list": [triple_row(t) for t in triples],
                                         "model": extractor.version}, ensure_ascii=False) + "\n")
    finally:
        if output:
            handle.close()
    if output:
        click.echo(f"{len(rows)} texts -> {output}", err=True)


def triple_row(t) -> dict:
    return {"predicate": t.predicate, "subject": t.subject, "subject_type": t.subject_type,
            "object": {"@value": t.object}, "object_type": {"@value": t.object_type},
            "subject_offsets": [t.subject_start, t.subject_end],
            "object_offsets": [t.object_start, t.object_end], "score": round(t.score, 4),
            "Combined": False}
