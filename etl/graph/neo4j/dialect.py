"""Neo4j's part of the one place the two stores differ for this tool: schema set-up, and reading
the schema back (`etl doctor`). FalkorDB's part is etl/graph/falkordb/dialect.py.

All data statements (etl/graph/statements.py) and the query templates are plain openCypher both
stores run. Neo4j 5 declares uniqueness with `CREATE CONSTRAINT name IF NOT EXISTS FOR (n:L)
REQUIRE n.p IS UNIQUE` (which also creates the index) and plain indexes with `CREATE INDEX name IF
NOT EXISTS FOR (n:L) ON (n.p)`. cypher/schema/*.cypher are these statements (`schema_files`).
"""
from __future__ import annotations

from etl.graph.statements import IndexSpec, Statement

# What `schema_in_place` reads (auto-commit queries, as the schema statements are)
SHOW_CONSTRAINTS = "SHOW CONSTRAINTS YIELD labelsOrTypes, properties, type"
SHOW_INDEXES = "SHOW INDEXES YIELD labelsOrTypes, properties, state"


def schema_statements(specs: list[IndexSpec]) -> list[Statement]:
    out = []
    for spec in specs:
        if spec.unique:
            text = (f"CREATE CONSTRAINT {spec.name} IF NOT EXISTS "
                    f"FOR (n:{spec.label}) REQUIRE n.{spec.prop} IS UNIQUE")
        else:
            text = f"CREATE INDEX {spec.name} IF NOT EXISTS FOR (n:{spec.label}) ON (n.{spec.prop})"
        out.append(Statement(f"schema {spec.name}", text))
    return out


def schema_files(specs: list[IndexSpec]) -> dict[str, str]:
    """Contents of cypher/schema/*.cypher (Neo4j syntax); a test keeps the files in sync."""
    statements = schema_statements(specs)
    unique = [s.text + ";" for s, spec in zip(statements, specs) if spec.unique]
    plain = [s.text + ";" for s, spec in zip(statements, specs) if not spec.unique]
    head = ("// Generated from etl/graph/statements.py (index_specs); `etl db init` runs the same.\n"
            "// FalkorDB: the sink creates `CREATE INDEX FOR (n:L) ON (n.p)` + GRAPH.CONSTRAINT instead.\n")
    return {
        "constraints.cypher": head + "// One entity per (label, normalised name); one Document per doc_id;\n"
                              "// one Evidence per key; one Run per run_id; one Concept per standard name.\n"
                              + "\n".join(unique) + "\n",
        "indexes.cypher": head + "// Lookups by name across types, evidence by edge and by run, concepts by code.\n"
                          + "\n".join(plain) + "\n",
    }


def _single(row: dict) -> tuple[str, str] | None:
    labels, props = row.get("labelsOrTypes") or [], row.get("properties") or []
    return (labels[0], props[0]) if len(labels) == 1 and len(props) == 1 else None


def schema_in_place(constraints: list[dict], indexes: list[dict]) -> tuple[set, set]:
    """(unique (label, prop) pairs, indexed pairs) from the rows of SHOW_CONSTRAINTS and SHOW_INDEXES:
    single-property uniqueness constraints (or node keys) and online single-property indexes."""
    unique = {key for row in constraints
              if ("UNIQUENESS" in str(row.get("type")) or row.get("type") == "NODE_KEY")
              and (key := _single(row))}
    indexed = {key for row in indexes if row.get("state") == "ONLINE" and (key := _single(row))}
    return unique, indexed
