"""`etl evaluate`: strict (subject, predicate, object) micro P/R/F1 of CMeIE-format predictions.

Two modes: score a prediction file (`--gold --pred`), or run the span model end to end on gold
texts (`--spans-model DIR` with `--oracle-relations` or `--relation-model DIR`; the gold defaults
to the dev split of data.cmeie_labeled). Subcommands score other models: `etl evaluate
assertions` (assertion_cmd.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from etl.cli import assertion_cmd, normalizer_cmd, notes_eval_cmd
from etl.data.cmeie import read_cmeie, write_cmeie
from etl.evaluate import evaluate, format_table


@click.group("evaluate", invoke_without_command=True)
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Gold CMeIE JSONL (text + spo_list). End-to-end mode default: the dev split.")
@click.option("--pred", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Predicted CMeIE JSONL, same format; matched to the gold by text.")
@click.option("--spans-model", type=click.Path(file_okay=False, path_type=Path),
              help="End to end: extract triples from the gold texts with this span model folder.")
@click.option("--oracle-relations", is_flag=True,
              help="End to end: give the span model each text's gold predicates.")
@click.option("--relation-model", type=click.Path(file_okay=False, path_type=Path),
              help="End to end: take each text's predicates from this relation model folder.")
@click.option("--write-pred", type=click.Path(dir_okay=False, path_type=Path),
              help="End to end: also write the predictions as CMeIE JSONL.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of a table.")
@click.pass_context
def command(ctx, gold: Path | None, pred: Path | None, spans_model: Path | None, oracle_relations: bool,
            relation_model: Path | None, write_pred: Path | None, as_json: bool) -> None:
    """Score predictions against gold with the CMeIE benchmark's strict triple micro-F1.

    A triple counts as correct when subject, predicate and object all match exactly (after the
    benchmark's lower-casing and 《》 stripping) in the sample with the same text. Prints
    per-predicate precision/recall/F1 and the micro figures.

    End to end: `--spans-model DIR --oracle-relations` (gold predicates) or `--spans-model DIR
    --relation-model DIR` (predicted predicates) extracts the triples of every gold text first.

    `etl evaluate assertions --gold CDEE.jsonl` scores the assertion model instead (its own --help).
    """
    if ctx.invoked_subcommand is not None:
        if any((gold, pred, spans_model, oracle_relations, relation_model, write_pred, as_json)):
            raise click.UsageError(f"options before `{ctx.invoked_subcommand}` belong to the triple "
                                   f"evaluation; put them after the subcommand")
        return
    app = ctx.obj
    if spans_model is None:
        if oracle_relations or relation_model or write_pred:
            raise click.UsageError("--oracle-relations, --relation-model and --write-pred need --spans-model")
        if gold is None or pred is None:
            raise click.UsageError("give --gold and --pred, or --spans-model for the end-to-end mode")
        report = evaluate(read_cmeie(gold), read_cmeie(pred))
    else:
        if pred is not None:
            raise click.UsageError("--pred and --spans-model exclude each other")
        if oracle_relations == (relation_model is not None):
            raise click.UsageError("--spans-model needs exactly one of --oracle-relations, --relation-model")
        report = _end_to_end(app, gold, spans_model, relation_model, write_pred)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_table(report))


def _end_to_end(app, gold: Path | None, spans_model: Path, relation_model: Path | None, write_pred: Path | None):
    from etl.models.folder import validate_folder

    validate_folder(spans_model, "spans", check_version=False)  # clear errors before TensorFlow loads
    if relation_model is not None:
        validate_folder(relation_model, "relation", check_version=False)
    if gold is not None:
        samples = list(read_cmeie(gold))
    else:
        from etl.data.split import load_split
        samples = load_split(app.settings)[1]
    from etl.models.registry import load_model
    from etl.models.spans.evaluation import end_to_end

    relations = None
    if relation_model:  # the classifier's predicates of each text (spans.evaluation.predicted_relations)
        classifier = load_model("relation", relation_model, warm_up=False)
        relations = classifier.predict([s.text for s in samples])
    report, predicted = end_to_end(load_model("spans", spans_model, warm_up=False), samples, relations)
    if write_pred:
        write_cmeie(write_pred, predicted)
    return report


command.add_command(assertion_cmd.evaluate_assertions, "assertions")
command.add_command(notes_eval_cmd.evaluate_notes, "notes")
command.add_command(normalizer_cmd.evaluate_normalize, "normalize")
