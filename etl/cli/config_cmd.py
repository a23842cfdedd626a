"""`etl config`: print the effective settings (after file, environment and --set)."""
from __future__ import annotations

import json

import click

from etl.config import as_dict


@click.command("config")
@click.pass_obj
def command(app) -> None:
    """Show the effective settings as JSON (secrets are never part of the settings)."""
    click.echo(f"# config file: {app.config_path or '(built-in defaults)'}", err=True)
    click.echo(json.dumps(as_dict(app.settings), ensure_ascii=False, indent=2))
