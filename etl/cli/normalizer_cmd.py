"""`etl train normalizer`, `etl predict normalize`, `etl evaluate normalize`: the diagnosis
normaliser's commands (attached to their groups by train_cmd.py, predict_cmd.py, evaluate_cmd.py).

`predict normalize` keeps exactly this interface (other tools call it): each input line
{"id": ..., "text": "..."} comes out as the same object plus "concepts": [{"code", "name",
"score"}, ...], best first, possibly empty ("code" is "" for a CHIP-CDN name outside the ICD-10
vocabulary). A malformed line stops with an error naming it (exit 1) before anything is written.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from etl.config import replace
from etl.data.files import read_jsonl, write_jsonl

KIND = "normalizer"


@click.command("normalizer")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Model folder to write (default: normalizer.model_dir). Replaced when training ends.")
@click.option("--pair-epochs", type=click.IntRange(min=0),
              help="Epochs on the CBLUE pairs (default: normalizer.pair_epochs).")
@click.option("--cdn-epochs", type=click.IntRange(min=1), help="Epochs on CHIP-CDN (default: normalizer.cdn_epochs).")
@click.option("--max-train", type=click.IntRange(min=1),
              help="Use only the first N CHIP-CDN records (and 4N pairs): quick runs and tests.")
@click.option("--retune", is_flag=True,
              help="Train no encoder: fit the scorer and its threshold of the folder (--out) again on its "
                   "held-out records, measure, rewrite labels.json, scorer.json, metrics.json, version.txt.")
@click.option("--surgery", is_flag=True,
              help="Build the surgery normaliser instead (ICD-9-CM-3, data.surgery_terms; default --out: "
                   "normalizer.surgery.model_dir): the disease folder's tower fine-tuned for "
                   "normalizer.surgery.epochs, "
                   "its decision cross-fitted on the training rows, figures on the held-out rows.")
@click.pass_obj
def train_normalizer(app, out: Path | None, pair_epochs: int | None, cdn_epochs: int | None,
                     max_train: int | None, retune: bool, surgery: bool) -> None:
    """Siamese diagnosis normaliser (CHIP-CDN -> ICD-10 Beijing 6.01 names).

    Starts from normalizer.encoder_checkpoint, trains on the CBLUE pairs (data.pairs) then on
    data.cdn_train against hard negatives from the lexical retriever, encodes the standard names
    (data.icd10) once, fits the decision (a small scorer over each candidate's scores, and its
    threshold) on normalizer.scorer_records CHIP-CDN training records held out from the encoder, and
    writes the folder with metrics.json: on data.cdn_dev, the lexical retriever alone, the siamese
    encoder alone, the combination.
    """
    if surgery:
        given = [name for name, value in (("--pair-epochs", pair_epochs), ("--cdn-epochs", cdn_epochs),
                                          ("--max-train", max_train), ("--retune", retune or None))
                 if value is not None]
        if given:
            raise click.UsageError(f"--surgery builds from normalizer.surgery settings: drop {', '.join(given)}")
        from etl.models.normalizer.surgery import build_surgery_normalizer  # TensorFlow only now

        build_surgery_normalizer(app.settings, out or app.settings.normalizer.surgery.model_dir, say=click.echo)
        return
    if retune:
        given = [name for name, value in (("--pair-epochs", pair_epochs), ("--cdn-epochs", cdn_epochs),
                                          ("--max-train", max_train)) if value is not None]
        if given:
            raise click.UsageError(f"--retune trains no encoder: drop {', '.join(given)}")
        from etl.models.folder import check_folder
        from etl.models.normalizer.training import retune_folder  # TensorFlow only now

        retune_folder(app.settings, check_folder(out or app.settings.normalizer.model_dir, KIND), say=click.echo)
        return
    settings = replace(app.settings, normalizer__pair_epochs=pair_epochs, normalizer__cdn_epochs=cdn_epochs)
    from etl.models.normalizer.training import train_normalizer as run_training  # TensorFlow only now

    run_training(settings, out or settings.normalizer.model_dir, say=click.echo, max_train=max_train)


def text_row(row: dict, number: int) -> dict:
    """One `predict normalize` input line: an object with an "id" and a "text" string."""
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise ValueError('expected a JSON object with a "text" string')
    if "id" not in row:
        raise ValueError('expected an "id"')
    return row


def read_text_rows(path: Path) -> list[dict]:
    """The `predict normalize` input, checked line by line: a bad line is an error naming it."""
    return list(read_jsonl(path, text_row, 'an {"id", "text"} line'))


def load_normalizer(app, model_dir: Path | None, surgery: bool = False):
    """The folder given, else the disease folder (normalizer.model_dir) or, with --surgery, the
    surgery folder (normalizer.surgery.model_dir)."""
    from etl.models.folder import validate_folder

    default = app.settings.normalizer.surgery.model_dir if surgery else app.settings.normalizer.model_dir
    folder = validate_folder(model_dir or default, KIND, check_version=False)
    from etl.models.registry import load_model

    return load_model(KIND, folder, warm_up=False)


SURGERY_OPTION = click.option("--surgery", is_flag=True,
                              help="The surgery normaliser (default folder: normalizer.surgery.model_dir; ICD-9-CM-3).")


@click.command("normalize")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="JSONL: {\"id\", \"text\"} per line.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="JSONL to write (default: standard output).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Normaliser folder (default: normalizer.model_dir).")
@SURGERY_OPTION
@click.pass_obj
def predict_normalize(app, input_path: Path, output: Path | None, model_dir: Path | None, surgery: bool) -> None:
    """ICD-10 concepts of raw diagnosis strings (with --surgery: ICD-9-CM-3 concepts of operation
    strings): each line gains "concepts" (code, name, score), best first."""
    rows = read_text_rows(input_path)
    normalizer = load_normalizer(app, model_dir, surgery)
    found = normalizer.normalize([row["text"] for row in rows])
    for row, concepts in zip(rows, found):
        row["concepts"] = [c.as_json() for c in concepts]
    write_jsonl(rows, output)
    if output:
        click.echo(f"{len(rows)} lines, {sum(1 for c in found if c)} with a concept -> {output}", err=True)


@click.command("normalize")
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CHIP-CDN JSONL ({\"text\", \"normalized_result\": \"name##name\"}; default: data.cdn_dev).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Normaliser folder (default: normalizer.model_dir).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of a line.")
@SURGERY_OPTION
@click.pass_obj
def evaluate_normalize(app, gold: Path | None, model_dir: Path | None, as_json: bool, surgery: bool) -> None:
    """CBLUE's CHIP-CDN metric: micro precision/recall/F1 over (text, standard name) pairs.

    With --surgery: the surgery folder on the data.surgery_terms rows it held out (the split its
    settings.json records), or on every row of --gold (raw<TAB>code<TAB>name); also top-1 accuracy."""
    from etl.data.cdn import read_cdn

    normalizer = load_normalizer(app, model_dir, surgery)
    if surgery:
        gold, records = surgery_gold(app.settings, gold, model_dir)
    else:
        gold = gold or app.settings.data.cdn_dev
        records = read_cdn(gold)
    from etl.models.normalizer.evaluation import cdn_counts

    found = normalizer.normalize([r.text for r in records])
    counts = cdn_counts(records, [[c.name for c in concepts] for concepts in found])
    report = dict(counts.as_dict(), gold_file=str(gold), records=len(records), model=normalizer.version,
                  with_concept=sum(1 for c in found if c))
    if surgery:
        first = [c.name if c else None for c in normalizer.top_concepts([r.text for r in records])]
        report["top1"] = round(sum(1 for r, name in zip(records, first) if name in r.names) / max(len(records), 1), 4)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{gold}: {len(records)} records, model {normalizer.version}\n"
                   f"precision {counts.precision:.4f}  recall {counts.recall:.4f}  F1 {counts.f1:.4f}  "
                   f"({counts.correct} correct of {counts.predicted} predicted, {counts.gold} gold pairs)"
                   + (f"\ntop-1 {report['top1']:.4f}" if surgery else ""))


def surgery_gold(settings, gold: Path | None, model_dir: Path | None):
    """(what was read, its records): --gold's every row, else the rows the surgery folder held out
    (file, size and seed from its settings.json, so a changed config cannot move the split)."""
    from etl.data.surgery import read_surgery_terms, split_surgery
    from etl.models.folder import read_json

    if gold:
        return gold, read_surgery_terms(gold)[0]
    folder = Path(model_dir or settings.normalizer.surgery.model_dir)
    try:
        record = read_json(folder / "settings.json")
        terms, held_out, seed = (Path(record["data"]["surgery_terms"]), int(record["surgery"]["held_out"]),
                                 int(record["surgery"]["split_seed"]))
    except (OSError, ValueError, KeyError, TypeError):
        raise click.UsageError(f"{folder}/settings.json records no surgery split (not built by "
                               f"`etl train normalizer --surgery`): give --gold") from None
    if not terms.is_file():  # built in another checkout: the same file under this one's data path
        terms = settings.data.surgery_terms
    return (f"{terms} (held out: {held_out}, seed {seed})",
            split_surgery(read_surgery_terms(terms)[0], held_out, seed)[1])
