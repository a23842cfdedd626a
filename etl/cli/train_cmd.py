"""`etl train`: one subcommand per model (`relation` here; other models add theirs to `command`)."""
from __future__ import annotations

from pathlib import Path

import click

from etl.config import replace


def encoder_checkpoint_choice(settings, section: str, encoder_checkpoint, from_scratch: bool):
    """Settings with `<section>.encoder_checkpoint` from --encoder-checkpoint / --from-scratch."""
    if encoder_checkpoint and from_scratch:
        raise click.UsageError("--encoder-checkpoint and --from-scratch exclude each other")
    if from_scratch:
        return replace(settings, **{f"{section}__encoder_checkpoint": ""})
    return replace(settings, **{f"{section}__encoder_checkpoint": encoder_checkpoint})


@click.group("train")
def command() -> None:
    """Train a model from the project's CMeIE split and write a self-contained model folder."""


@command.command("relation")
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
@click.option("--loss", type=click.Choice(["bce", "weighted_bce", "focal"]), help="Default: relation.loss.")
@click.option("--head", type=click.Choice(["cls", "pool", "cnn_pool"]), help="Default: relation.head.")
@click.pass_obj
def relation(app, encoder_checkpoint, from_scratch, out, epochs, max_train, loss, head) -> None:
    """Relation classifier (ALBERT, 44 CMeIE predicates, multi-label).

    Trains on the train part of data.cmeie_labeled, evaluates on the dev part after every epoch
    (micro/macro F1, P, R), keeps the best epoch, tunes per-predicate thresholds on dev and writes
    encoder config, weights, vocab, labels, thresholds, settings, metrics.json and version.txt.
    """
    settings = encoder_checkpoint_choice(app.settings, "relation", encoder_checkpoint, from_scratch)
    settings = replace(settings, relation__epochs=epochs, relation__max_train_samples=max_train,
                       relation__loss=loss, relation__head=head)
    from etl.models.relation import train_relation  # TensorFlow only when training

    train_relation(settings, out or settings.relation.model_dir, log=click.echo)


from etl.cli import spans_cmd  # noqa: E402  (the span extractor's own module)

command.add_command(spans_cmd.train_spans, "spans")
