"""`etl predict`: run a trained model over texts (`relations` here)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from etl.data.text_rows import read_text_rows


@click.group("predict")
def command() -> None:
    """Run a trained model over texts."""


@command.command("relations")
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
def relations(app, input_path: Path, output: Path | None, model_dir: Path | None, all_predicates: bool) -> None:
    """Predict the CMeIE predicates each text holds.

    Writes one JSON object per input text, in input order:
    {"text": ..., "relations": {predicate: probability}, "model": version}. Texts longer than the
    model's largest bucket (in tokens) are truncated to it.
    """
    from etl.models.folder import check_folder

    settings = app.settings.relation
    folder = check_folder(model_dir or settings.model_dir, "relation")  # clear error before TF loads
    texts = [row["text"] for row in read_text_rows(input_path)]
    from etl.models.relation import RelationClassifier

    classifier = RelationClassifier.load(folder, settings.buckets, settings.batch_size, settings.threshold)
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


from etl.cli import spans_cmd  # noqa: E402  (the span extractor's own module)

command.add_command(spans_cmd.predict_spans, "spans")
