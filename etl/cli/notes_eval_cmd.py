"""`etl evaluate notes`: triples extracted from clinical notes scored as EMR-RE's ANNOTATION.md
says (strict and lenient micro P/R/F1 over present triples, gold `possible` left out of both
sides, per predicate), running the real `etl run` path over the gold notes: windows, the main
condition, relations, spans, merge and assertion, with the configured models (etl/run/stages.py,
`extract`). `--pred FILE` scores a prediction file in the same format instead.
"""
from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("notes")
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="EMR-RE JSONL: notes with their annotated triples (default: data.emr_re_dev).")
@click.option("--pred", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Score this prediction file (EMR-RE format; triples marked present count) instead of "
                   "running the models.")
@click.option("--write-pred", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every extracted triple, with the assertion of its ends, as EMR-RE JSONL.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N notes.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of a table.")
@click.pass_obj
def evaluate_notes(app, gold: Path | None, pred: Path | None, write_pred: Path | None, limit: int | None,
                   as_json: bool) -> None:
    """Strict and lenient triple P/R/F1 on annotated clinical notes (EMR-RE format).

    Strict: subject, predicate and object strings equal. Lenient: the predicate equal and each
    gold string containing the system's or the reverse (one-to-one). Only the triples whose two
    ends the system judges present count; gold `possible` triples are left out of both sides.
    """
    from etl.data.emr_re import read_notes
    from etl.evaluate_notes import format_scores, score_notes

    settings = app.settings
    gold_path = gold or settings.data.emr_re_dev
    notes = list(read_notes(gold_path))[:limit]
    if pred is not None:
        if write_pred:
            raise click.UsageError("--write-pred needs the models (leave out --pred)")
        predicted = {n.id: {t.key for t in n.triples if t.assertion == "present"} for n in read_notes(pred)}
        info = {"gold": str(gold_path), "pred": str(pred)}
    else:
        predicted, info = _run_models(settings, notes, write_pred)
        info["gold"] = str(gold_path)
    scores = score_notes(notes, predicted)
    if as_json:
        click.echo(json.dumps({**info, **scores.as_dict()}, ensure_ascii=False, indent=2))
    else:
        click.echo(format_scores(scores))
        click.echo(", ".join(f"{k}: {v}" for k, v in info.items()))


def _run_models(settings, notes, write_pred: Path | None):
    from etl.evaluate_notes import asserted_keys, evidence_rows, extract_notes, notes_run

    run = notes_run(settings)
    found = extract_notes(run, notes)
    if write_pred:
        with open(write_pred, "w", encoding="utf-8") as handle:
            for note in notes:
                handle.write(json.dumps(evidence_rows(note, found.get(note.id, [])), ensure_ascii=False) + "\n")
    counts = run.counts
    info = {"models": dict(run.models.versions), "windows": counts.windows,
            "main_conditions": counts.main_conditions, "span_queries": counts.span_queries}
    return {note_id: asserted_keys(evidence) for note_id, evidence in found.items()}, info
