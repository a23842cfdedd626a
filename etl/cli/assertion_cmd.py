"""`etl train assertion`, `etl predict assertions`, `etl evaluate assertions`: the assertion model's
commands (attached to their groups by train_cmd.py, predict_cmd.py and evaluate_cmd.py).

`predict assertions` keeps exactly this interface (other tools call it): each input line
{"id": ..., "text": "...", "mentions": [{"start": 3, "end": 5}, ...]} (character offsets, end
exclusive) comes out as the same object, every mention gaining "assertion" (present | absent |
possible) and "score", plus "experiencer": "family" and "historical": true where the rules say so.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import click

from etl.cli.options import encoder_checkpoint_choice
from etl.config import AssertionDecision, replace
from etl.data.files import open_text, write_jsonl
from etl.errors import DataError

DECISION_CHOICE = click.Choice(get_args(AssertionDecision))


@click.command("assertion")
@click.option("--encoder-checkpoint", type=click.Path(file_okay=False, path_type=Path),
              help="Google-format ELECTRA checkpoint folder. Default: assertion.encoder_checkpoint "
                   "(the shipped MLM-pretrained ELECTRA); empty = from scratch.")
@click.option("--from-scratch", is_flag=True,
              help="Random initial encoder weights, ignoring assertion.encoder_checkpoint (for comparisons).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Model folder to write (default: assertion.model_dir). Replaced when training ends.")
@click.option("--epochs", type=click.IntRange(min=1), help="Training epochs (default: assertion.epochs).")
@click.option("--rule-features/--no-rule-features", default=None,
              help="Give the model the ConText rules' cues as token features (default: assertion.rule_features).")
@click.option("--decision", type=DECISION_CHOICE,
              help="How the folder decides (default: assertion.decision; unset = the best dev accuracy).")
@click.option("--max-train", type=click.IntRange(min=1), help="Use only the first N training texts (quick runs).")
@click.option("--remeasure", metavar="WHY",
              help="Train nothing: keep the weights of the folder (--out), copy the rules file "
                   "(assertion.rules, else the packaged one) into it, measure its decisions on "
                   "data.cdee_dev again and rewrite metrics.json (dev_remeasured = WHY), labels.json "
                   "and version.txt. For an edit of the rules or of the rules code.")
@click.pass_obj
def train_assertion(app, encoder_checkpoint, from_scratch, out, epochs, rule_features, decision, max_train,
                    remeasure) -> None:
    """Assertion classifier (present / absent / possible) for a finding in its context.

    Trains on data.cdee_train (CHIP-CDEE findings placed at their offsets), prints dev accuracy and
    per-status F1 after every epoch, keeps the best epoch, measures the model, the ConText rules and
    the gated combination on data.cdee_dev, and writes encoder config, weights (float16), vocab,
    labels, the rules file, settings, metrics.json and version.txt.
    """
    if remeasure is not None:
        given = [name for name, value in (("--encoder-checkpoint", encoder_checkpoint), ("--epochs", epochs),
                                          ("--[no-]rule-features", rule_features), ("--decision", decision),
                                          ("--max-train", max_train)) if value is not None]
        given += ["--from-scratch"] if from_scratch else []
        if given:
            raise click.UsageError(f"--remeasure trains nothing: drop {', '.join(given)}")
        from etl.models.assertion.training import remeasure_folder  # TensorFlow only now

        remeasure_folder(app.settings, out or app.settings.assertion.model_dir, remeasure, log=click.echo)
        return
    settings = encoder_checkpoint_choice(app.settings, "assertion", encoder_checkpoint, from_scratch)
    settings = replace(settings, assertion__epochs=epochs, assertion__rule_features=rule_features,
                       assertion__decision=decision)
    from etl.data.cdee import read_cdee

    train_samples = read_cdee(settings.data.cdee_train)
    if max_train:
        train_samples = train_samples[:max_train]
    from etl.models.assertion.training import train_assertion as run_training  # TensorFlow only now

    run_training(settings, out or settings.assertion.model_dir, log=click.echo, train_samples=train_samples)


def read_mention_rows(path: Path) -> list[dict]:
    """The `predict assertions` input, checked line by line: a bad line is an error naming it."""
    rows = []
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                row = json.loads(line)
            except ValueError as error:
                raise DataError(f"{where}: not JSON ({error})") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise DataError(f"{where}: expected a JSON object with a \"text\" string")
            mentions = row.get("mentions")
            if not isinstance(mentions, list):
                raise DataError(f"{where}: expected \"mentions\": a list of {{\"start\", \"end\"}} objects")
            for k, mention in enumerate(mentions):
                start = mention.get("start") if isinstance(mention, dict) else None
                end = mention.get("end") if isinstance(mention, dict) else None
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
                    raise DataError(f"{where}: mention {k}: \"start\" and \"end\" must be integers")
                if not 0 <= start < end <= len(row["text"]):
                    raise DataError(f"{where}: mention {k}: offsets [{start}, {end}) are outside the text "
                                    f"({len(row['text'])} characters) or empty")
            rows.append(row)
    return rows


@click.command("assertions")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="JSONL: {\"id\", \"text\", \"mentions\": [{\"start\", \"end\"}]} per line (offsets in characters, "
                   "end exclusive).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="JSONL to write (default: standard output).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Assertion model folder (default: assertion.model_dir).")
@click.option("--decision", type=DECISION_CHOICE,
              help="Override the folder's decision (model, rules or gated; "
                   "default: assertion.decision, else the folder's).")
@click.pass_obj
def predict_assertions(app, input_path: Path, output: Path | None, model_dir: Path | None, decision) -> None:
    """Assertion status of every mention: present, absent (denied) or possible (hedged).

    Writes every input object unchanged, in input order, each mention gaining "assertion" and
    "score" (the classifier's probability; 1.0 when the rules decided), plus "experiencer":
    "family" and "historical": true where the ConText rules say so. A malformed line or an offset
    outside its text stops with an error naming the line (exit 1) before anything is written.
    """
    from etl.models.folder import validate_folder

    folder = validate_folder(model_dir or app.settings.assertion.model_dir, "assertion", check_version=False)
    rows = read_mention_rows(input_path)
    from etl.models.assertion.data import Mention
    from etl.models.registry import load_model

    classifier = load_model("assertion", folder, warm_up=False,
                            decision=decision or app.settings.assertion.decision or None)
    mentions = [Mention(row["text"], m["start"], m["end"]) for row in rows for m in row["mentions"]]
    assessments = iter(classifier.assess(mentions))
    for row in rows:
        for mention in row["mentions"]:
            judged = next(assessments)
            mention["assertion"], mention["score"] = judged.status, round(judged.score, 4)
            if judged.experiencer != "patient":
                mention["experiencer"] = judged.experiencer
            if judged.historical:
                mention["historical"] = True
    write_jsonl(rows, output)
    if output:
        click.echo(f"{len(rows)} lines, {len(mentions)} mentions -> {output}", err=True)


@click.command("assertions")
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CHIP-CDEE JSONL with labelled findings (default: data.cdee_dev).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Assertion model folder (default: assertion.model_dir).")
@click.option("--decision", type=DECISION_CHOICE,
              help="Override the folder's decision (model, rules or gated; "
                   "default: assertion.decision, else the folder's).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of a table.")
@click.pass_obj
def evaluate_assertions(app, gold: Path | None, model_dir: Path | None, decision, as_json: bool) -> None:
    """Accuracy and per-status precision/recall/F1 of the assertion decisions on gold findings.

    Findings are placed at character offsets as etl/data/cdee.py documents (verbatim, in list
    order; a gapped match within a clause); those that cannot be placed are counted, not scored.
    """
    from etl.data.cdee import placement_counts, read_cdee
    from etl.models.folder import validate_folder

    folder = validate_folder(model_dir or app.settings.assertion.model_dir, "assertion", check_version=False)
    samples = read_cdee(gold or app.settings.data.cdee_dev)
    from etl.models.assertion.data import cdee_examples
    from etl.models.assertion.metrics import assertion_report
    from etl.models.registry import load_model

    classifier = load_model("assertion", folder, warm_up=False,
                            decision=decision or app.settings.assertion.decision or None)
    examples = cdee_examples(samples)
    report = assertion_report([e.label for e in examples],
                              [a.status for a in classifier.assess([e.mention for e in examples])])
    counts = placement_counts(samples)
    report.update(gold=str(gold or app.settings.data.cdee_dev), model=classifier.version,
                  decision=classifier.decision, findings=counts["findings"], placed=len(examples),
                  not_placed=counts["unplaced"], placement=counts, model_calls=classifier.model_calls)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(report))


def format_report(report: dict) -> str:
    lines = [f"{report['gold']}: {report['findings']} findings, {report['placed']} placed and scored, "
             f"{report['not_placed']} not placeable (not scored)",
             f"model {report['model']}, decision {report['decision']} "
             f"({report['model_calls']} mentions through the classifier)",
             f"accuracy {report['accuracy']:.4f}  macro F1 {report['macro_f1']:.4f}",
             f"{'status':<10}{'precision':>10}{'recall':>8}{'F1':>8}{'gold':>7}{'predicted':>10}"]
    for status, m in report["per_status"].items():
        lines.append(f"{status:<10}{m['precision']:>10.4f}{m['recall']:>8.4f}{m['f1']:>8.4f}"
                     f"{m['gold']:>7}{m['predicted']:>10}")
    return "\n".join(lines)
