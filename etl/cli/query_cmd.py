"""`etl query`: run one of the Cypher templates in cypher/queries/ against the configured store."""
from __future__ import annotations

import csv
import io
import json

import click

from etl.errors import EtlError
from etl.graph import open_sink
from etl.graph.templates import load_templates


@click.command("query")
@click.argument("name", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the templates and their parameters.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A template parameter (repeatable); lists as a,b,c or JSON.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--show", is_flag=True, help="Print the template's Cypher instead of running it.")
@click.pass_obj
def command(app, name: str | None, list_only: bool, params: tuple[str, ...], fmt: str, show: bool) -> None:
    """Run the query template NAME (see --list), e.g.

    etl query symptoms_of_disease --param disease=糖尿病
    """
    templates = load_templates()
    if list_only or not name:
        for template in templates.values():
            click.echo(f"{template.name}\n    {template.description}")
            for p in template.parameters:
                default = "" if p.required else f", default {p.default}"
                choices = f", one of {'|'.join(p.choices)}" if p.choices else ""
                click.echo(f"    --param {p.name}=...   ({p.type}{default}{choices})")
        return
    template = templates.get(name)
    if template is None:
        raise EtlError(f"no query template {name!r} (known: {', '.join(templates)})")
    if show:
        click.echo(template.text)
        return
    given = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--param")
        given[key.strip()] = value
    bound = template.bind(given)
    with open_sink(app.settings.graph, shared=True) as sink:  # also while a run writes
        rows = sink.query(template.text, bound)
    click.echo(render(rows, fmt), nl=False)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render(rows: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    columns = list(rows[0]) if rows else []
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        return out.getvalue()
    if not rows:
        return "(no rows)\n"
    cells = [[_cell(row.get(c)).replace("\n", " ") for c in columns] for row in rows]
    widths = [max(_width(x) for x in [c] + [r[i] for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(_pad(c, w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines) + f"\n({len(rows)} rows)\n"


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
