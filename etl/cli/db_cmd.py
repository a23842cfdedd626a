"""`etl db`: set up and inspect the configured graph store (graph.sink)."""
from __future__ import annotations

import json
import time
from typing import get_args

import click

from etl.config import StoreKind
from etl.graph import open_sink


@click.group("db")
def command() -> None:
    """Graph store: create constraints/indexes, show counts."""


def _sink_option(func):
    return click.option("--sink", "kind", type=click.Choice(get_args(StoreKind)),
                        help="Store to use (default: graph.sink from the settings).")(func)


@command.command("init")
@_sink_option
@click.option("--print", "print_only", is_flag=True,
              help="Only print the Neo4j statements (as in cypher/schema/), touch no store.")
@click.pass_obj
def init(app, kind: str | None, print_only: bool) -> None:
    """Create the constraints and indexes the writers rely on (safe to repeat)."""
    if print_only:
        from etl.graph.neo4j.dialect import schema_statements
        from etl.graph.statements import StatementBuilder
        from etl.schema import load_schema
        for statement in schema_statements(StatementBuilder(load_schema()).index_specs()):
            click.echo(statement.text + ";")
        return
    settings = app.settings.graph
    kind = kind or settings.sink
    if kind == "none":
        click.echo("graph.sink = none: no store to set up")
        return
    with open_sink(settings, kind=kind) as sink:
        done = sink.init_schema()
        click.echo(f"{sink.describe()}: schema ready ({len(done)} statements run)")


@command.command("stats")
@_sink_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Also list labels and types with count 0.")
@click.pass_obj
def stats(app, kind: str | None, as_json: bool, show_all: bool) -> None:
    """Nodes per label (Evidence also by assertion) and relationships per type.

    Evidence splits into asserted (both ends present: what typed relationships count), with an
    absent end (a denied finding) and with a possible end (no absent end)."""
    settings = app.settings.graph
    kind = kind or settings.sink
    if kind == "none":
        click.echo("graph.sink = none: no store to count")
        return
    with open_sink(settings, kind=kind, shared=True) as sink:  # also while a run writes
        counts = sink.stats()
        where = sink.describe()
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    click.echo(where)
    for name, value in counts.items():
        if name.startswith("Evidence "):  # the breakdown of Evidence, shown whenever there is any
            if counts.get("Evidence") or show_all:
                click.echo(f"    {name.removeprefix('Evidence '):<26} {value:>10}")
        elif value or show_all:
            click.echo(f"  {name:<28} {value:>10}")


@command.command("recount")
@_sink_option
@click.pass_obj
def recount(app, kind: str | None) -> None:
    """Recount every entity's and relationship's counts from the evidence in the graph.

    Writes keep counts by difference. A FalkorDB write that stopped half-way (killed, server
    gone) can leave counts that do not match the evidence; the next write of the same documents
    repairs them, and this command does it now. It takes the run lock (exit 5 while an `etl run`
    writes to the same store), reads the graph page by page and deletes relationships and
    entities left with no evidence. `-v` shows each label and relationship group as it is done."""
    from etl.graph import store_target
    from etl.lock import RunLock

    settings = app.settings.graph
    kind = kind or settings.sink
    if kind == "none":
        click.echo("graph.sink = none: no store to recount")
        return
    run_id = "recount-" + time.strftime("%Y%m%dT%H%M%S")
    with RunLock(app.settings.run.reports_dir, store_target(settings, kind)).acquire(run_id), \
            open_sink(settings, kind=kind) as sink:
        click.echo(f"{sink.describe()}: recounting ...", err=True)
        done = sink.recount()
        click.echo(f"{sink.describe()}: recounted {done.edges} relationship(s) ({done.edges_pruned} deleted: no "
                   f"asserted evidence left) and {done.entities} {'entity' if done.entities == 1 else 'entities'} "
                   f"({done.entities_pruned} deleted: no "
                   f"evidence left); {done.pending_cleared} document(s) of writes cut short unmarked")
