"""Option handling shared by the per-model command modules (relation_cmd, spans_cmd, assertion_cmd)."""
from __future__ import annotations

import click

from etl.config import replace


def encoder_checkpoint_choice(settings, section: str, encoder_checkpoint, from_scratch: bool):
    """Settings with `<section>.encoder_checkpoint` from --encoder-checkpoint / --from-scratch."""
    if encoder_checkpoint and from_scratch:
        raise click.UsageError("--encoder-checkpoint and --from-scratch exclude each other")
    if from_scratch:
        return replace(settings, **{f"{section}__encoder_checkpoint": ""})
    return replace(settings, **{f"{section}__encoder_checkpoint": encoder_checkpoint})


def note_options(command):
    """--notes / --dev-notes / --without-notes: the annotated clinical notes a model trains on
    (EMR-RE format, etl/data/emr_re.py): a user's own notes retrain the models with these."""
    from pathlib import Path

    options = [
        click.option("--notes", "notes_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Annotated notes to train on (EMR-RE JSONL: text + spo_list; default: data.emr_re_train)."),
        click.option("--dev-notes", "dev_notes_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Annotated notes held out for choosing the epoch and thresholds (default: data.emr_re_dev)."),
        click.option("--with-notes/--without-notes", "with_notes", default=None,
                     help="Train on the notes too (default: <model>.notes); without: CMeIE only."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def note_choice(settings, section: str, notes_file, dev_notes_file, with_notes):
    """Settings with the notes options applied (giving --notes means training on them)."""
    if with_notes is False and (notes_file or dev_notes_file):
        raise click.UsageError("--notes / --dev-notes and --without-notes exclude each other")
    if notes_file and with_notes is None:
        with_notes = True
    return replace(settings, data__emr_re_train=notes_file, data__emr_re_dev=dev_notes_file,
                   **{f"{section}__notes": with_notes})
