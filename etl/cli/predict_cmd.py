"""`etl predict`: run one trained model over a file; each subcommand lives in its model's module."""
from __future__ import annotations

import click

from etl.cli import assertion_cmd, normalizer_cmd, relation_cmd, spans_cmd


@click.group("predict")
def command() -> None:
    """Run a trained model over texts."""


command.add_command(relation_cmd.predict_relations, "relations")
command.add_command(spans_cmd.predict_spans, "spans")
command.add_command(assertion_cmd.predict_assertions, "assertions")
command.add_command(normalizer_cmd.predict_normalize, "normalize")
