"""The `etl` command line: one Click group, one module per command (group) beside this file."""
from __future__ import annotations

import logging
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import click

from etl import errors
from etl.config import Settings, find_config, load_settings


@dataclass
class AppContext:
    """What every command gets as `ctx.obj`: the config source and the settings built from it."""
    config_path: Path | None
    overrides: dict[str, str] = field(default_factory=dict)
    verbose: int = 0
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path, self.overrides)
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value


class EtlGroup(click.Group):
    """Maps every failure to the documented exit codes (click alone uses 2 for usage errors)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        verbose = False
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("interrupted", err=True)
            sys.exit(errors.EXIT_INTERRUPTED)
        except click.ClickException as error:
            error.show()
            sys.exit(errors.EXIT_USAGE)
        except errors.EtlError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(errors.EXIT_INTERRUPTED)
        except Exception as error:  # a bug: say so, keep the traceback for -v
            ctx_verbose = verbose or os.environ.get("ETL_DEBUG") or logging.getLogger().level <= logging.DEBUG
            if ctx_verbose:
                traceback.print_exc()
            click.echo(f"internal error: {type(error).__name__}: {error} (rerun with -vv for the traceback)",
                       err=True)
            sys.exit(errors.EXIT_INTERNAL)
        sys.exit(result if isinstance(result, int) else errors.EXIT_OK)


@click.group(cls=EtlGroup, epilog=errors.EXIT_CODES_HELP,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Settings file (default: $ETL_CONFIG, else ./config.toml, else the installation's "
                   "config.toml, else built-in defaults).")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override one setting, e.g. --set graph.batch_size=500 (repeatable).")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="medkg-etl", prog_name="etl")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, overrides: tuple[str, ...], verbose: int) -> None:
    """medkg-etl: Chinese clinical text -> medical knowledge graph.

    Reads clinical notes (Parquet), finds the CMeIE relations each window of text holds (ALBERT
    multi-label classifier), extracts their subject and object spans (ELECTRA MRC extractor) and
    writes the triples with provenance into Neo4j or an embedded FalkorDB. Also trains and
    evaluates the two models from CMeIE-format data.

    Settings come from config.toml, ETL_<SECTION>_<KEY> environment variables and --set.
    Graph passwords come only from NEO4J_PASSWORD / FALKORDB_PASSWORD.
    """
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    parsed = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected SECTION.KEY=VALUE, got {item!r}", param_hint="--set")
        parsed[key.strip()] = value
    ctx.obj = AppContext(find_config(config_path), parsed, verbose)


def _register() -> None:
    # One module per command (group); each defines a Click command named after its module.
    from etl.cli import (config_cmd, db_cmd, doctor_cmd, evaluate_cmd, predict_cmd, pretrain_cmd, query_cmd,
                         run_cmd, schema_cmd, train_cmd)

    for module in (run_cmd, evaluate_cmd, train_cmd, predict_cmd, query_cmd, db_cmd, doctor_cmd,
                   schema_cmd, config_cmd, pretrain_cmd):
        cli.add_command(module.command)


_register()


def main() -> None:  # console-script entry point
    cli.main(prog_name="etl")
