"""`etl pretrain`: build the pretraining corpus, then MLM-pretrain a small encoder on it."""
from __future__ import annotations

from pathlib import Path
from typing import get_args

import click

# both plain Python, no TensorFlow: keeps `etl --help` fast
from etl.models.encoder import EncoderType
from etl.pretrain.corpus import SOURCE_NAMES


@click.group("pretrain")
def command() -> None:
    """Masked-language-model pretraining of the small encoders on the shared medical text.

    `etl pretrain corpus --out var/pretrain/corpus.txt`, then
    `etl pretrain mlm --model albert --corpus var/pretrain/corpus.txt --out var/pretrain/albert`;
    the folder loads with `etl train relation --encoder-checkpoint var/pretrain/albert`.
    """


@command.command("corpus")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Corpus file to write (one line of packed sentences per row; a .json report beside it).")
@click.option("--max-chars", type=click.IntRange(min=16), default=126, show_default=True,
              help="Longest line (characters): consecutive sentences are packed up to this.")
@click.option("--source", "names", multiple=True, type=click.Choice(SOURCE_NAMES),
              help="Only this source (repeatable; default: all). `--source cmeie_train --source "
                   "cmeie_unlabeled` gives a task-adaptive corpus for a second MLM stage.")
@click.pass_obj
def corpus(app, out: Path, max_chars: int, names: tuple[str, ...]) -> None:
    """Clean, sentence-split, deduplicated text of the data sources, CMeIE dev texts excluded."""
    from etl.pretrain.corpus import build_corpus, source_texts

    report = build_corpus(app.settings, out, max_chars, sources=source_texts(app.settings, names or SOURCE_NAMES))
    for name, stats in report.sources.items():
        click.echo(f"{name:16} {stats.texts:>7,} texts {stats.sentences:>8,} sentences  kept {stats.kept:>8,}  "
                   f"duplicates {stats.duplicates:>6,}  dev overlap {stats.dev_overlap:>5,}  {stats.chars:>10,} chars")
    click.echo(f"wrote {out}: {report.lines:,} lines, {report.chars:,} characters")


@command.command("mlm")
@click.option("--model", "model_type", type=click.Choice(get_args(EncoderType)), required=True,
              help="albert: relation.encoder shape; electra: spans.encoder shape (ELECTRA layout).")
@click.option("--corpus", "corpus_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Google-format checkpoint folder to write (config json, model.ckpt, vocab.txt, metrics.json).")
@click.option("--steps", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Total optimizer steps (a resumed run continues up to this).")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--learning-rate", type=float, default=1e-3, show_default=True)
@click.option("--save-every", type=click.IntRange(min=1), default=500, show_default=True,
              help="Steps between checkpoints (resume state + export + held-out metrics).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--init-checkpoint", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Start a new run from this exported encoder folder (its weights, vocab and config; "
                   "fresh optimizer and schedule): continued pretraining on new text.")
@click.pass_obj
def mlm(app, model_type, corpus_path, out, steps, batch_size, learning_rate, save_every, resume,
        init_checkpoint) -> None:
    """Whole-character masked-LM pretraining; exports a folder --encoder-checkpoint accepts."""
    from etl.pretrain.mlm import MlmOptions, pretrain_mlm  # TensorFlow only here

    opts = MlmOptions(steps=steps, batch_size=batch_size, learning_rate=learning_rate, save_every=save_every)
    if init_checkpoint is not None and resume:
        raise click.UsageError("--init-checkpoint starts a new run; --resume continues one: give one of them")
    metrics = pretrain_mlm(app.settings, model_type, corpus_path, out, opts, resume=resume, log=click.echo,
                           init_checkpoint=init_checkpoint)
    click.echo(f"held-out MLM loss {metrics['heldout']['loss']}, accuracy {metrics['heldout']['accuracy']} "
               f"after {metrics['steps']} steps")
