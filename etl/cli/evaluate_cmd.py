"""`etl evaluate`: strict (subject, predicate, object) micro P/R/F1 of CMeIE-format predictions."""
from __future__ import annotations

import json
from pathlib import Path

import click

from etl.data.cmeie import read_cmeie
from etl.evaluate import evaluate, format_table


@click.command("evaluate")
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Gold CMeIE JSONL (text + spo_list).")
@click.option("--pred", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Predicted CMeIE JSONL, same format; matched to the gold by text.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of a table.")
def command(gold: Path, pred: Path, as_json: bool) -> None:
    """Score predictions against gold with the CMeIE benchmark's strict triple micro-F1.

    A triple counts as correct when subject, predicate and object all match exactly (after the
    benchmark's lower-casing and 《》 stripping) in the sample with the same text. Prints
    per-predicate precision/recall/F1 and the micro figures.
    """
    report = evaluate(read_cmeie(gold), read_cmeie(pred))
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_table(report))
