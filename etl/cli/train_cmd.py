"""`etl train`: one subcommand per model, each defined in its model's command module."""
from __future__ import annotations

import click

from etl.cli import assertion_cmd, normalizer_cmd, relation_cmd, spans_cmd


@click.group("train")
def command() -> None:
    """Train a model from the project's data and write a self-contained model folder."""


command.add_command(relation_cmd.train_relation, "relation")
command.add_command(spans_cmd.train_spans, "spans")
command.add_command(assertion_cmd.train_assertion, "assertion")
command.add_command(normalizer_cmd.train_normalizer, "normalizer")
