"""`etl schema`: the whitelist of graph labels and relationship types, and the MRC questions."""
from __future__ import annotations

import json

import click

from etl.schema import load_schema


@click.command("schema")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def command(as_json: bool) -> None:
    """Show entity types -> node labels and predicates -> relationship types."""
    schema = load_schema()
    if as_json:
        click.echo(json.dumps({
            "entity_types": {n: t.label for n, t in schema.entity_types.items()},
            "predicates": {n: {"rel_type": p.rel_type, "subject_query": p.subject_query,
                               "object_query": p.object_query, "synonym": p.is_synonym}
                           for n, p in schema.predicates.items()},
            "triples": [[t.subject_type, t.predicate, t.object_type] for t in schema.triples],
        }, ensure_ascii=False, indent=2))
        return
    click.echo("Entity types (node labels):")
    for name, entity in schema.entity_types.items():
        click.echo(f"  {entity.label:<14} {name}  ({entity.description})")
    click.echo("Schema triples (subject)-[RELATIONSHIP]->(object):")
    for t in schema.triples:
        click.echo(f"  ({schema.label(t.subject_type)})-[{schema.rel_type(t.predicate)}]->"
                   f"({schema.label(t.object_type)})  {t.subject_type}-{t.predicate}-{t.object_type}")
