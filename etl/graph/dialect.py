"""The one place where Neo4j and FalkorDB differ for this tool: schema set-up.

All data statements (statements.py) and the query templates are plain openCypher both run. What
differs is how uniqueness and indexes are declared:
- Neo4j 5: `CREATE CONSTRAINT name IF NOT EXISTS FOR (n:L) REQUIRE n.p IS UNIQUE` (which also
  creates the index) and `CREATE INDEX name IF NOT EXISTS FOR (n:L) ON (n.p)`;
- FalkorDB: `CREATE INDEX FOR (n:L) ON (n.p)` (an error if it already exists, no IF NOT EXISTS) and
  unique constraints through the `GRAPH.CONSTRAINT CREATE` command, which needs that index first.
Indexes matter beyond correctness: FalkorDB's MERGE without them is ~50x slower (STACK.md).
"""
from __future__ import annotations

from etl.graph.statements import IndexSpec, Statement


def neo4j_schema_statements(specs: list[IndexSpec]) -> list[Statement]:
    out = []
    for spec in specs:
        if spec.unique:
            text = (f"CREATE CONSTRAINT {spec.name} IF NOT EXISTS "
                    f"FOR (n:{spec.label}) REQUIRE n.{spec.prop} IS UNIQUE")
        else:
            text = f"CREATE INDEX {spec.name} IF NOT EXISTS FOR (n:{spec.label}) ON (n.{spec.prop})"
        out.append(Statement(f"schema {spec.name}", text))
    return out


def falkordb_index_statement(spec: IndexSpec) -> Statement:
    return Statement(f"index {spec.name}", f"CREATE INDEX FOR (n:{spec.label}) ON (n.{spec.prop})")


def falkordb_constraint_command(graph_name: str, spec: IndexSpec) -> tuple:
    """Arguments of the GRAPH.CONSTRAINT command (not Cypher) for a unique spec."""
    return ("GRAPH.CONSTRAINT", "CREATE", graph_name, "UNIQUE", "NODE", spec.label,
            "PROPERTIES", 1, spec.prop)


def falkordb_already_exists(error: Exception) -> bool:
    """FalkorDB reports an existing index/constraint as an error; set-up treats it as done."""
    text = str(error).lower()
    return "already indexed" in text or "already exists" in text or "constraint already" in text


def schema_files(specs: list[IndexSpec]) -> dict[str, str]:
    """Contents of cypher/schema/*.cypher (Neo4j syntax); a test keeps the files in sync."""
    statements = neo4j_schema_statements(specs)
    unique = [s.text + ";" for s, spec in zip(statements, specs) if spec.unique]
    plain = [s.text + ";" for s, spec in zip(statements, specs) if not spec.unique]
    head = ("// Generated from etl/graph/statements.py (index_specs); `etl db init` runs the same.\n"
            "// FalkorDB: the sink creates `CREATE INDEX FOR (n:L) ON (n.p)` + GRAPH.CONSTRAINT instead.\n")
    return {
        "constraints.cypher": head + "// One entity per (label, normalised name); one Document per doc_id;\n"
                              "// one Evidence per key; one Run per run_id; one Concept per standard name.\n" + "\n".join(unique) + "\n",
        "indexes.cypher": head + "// Lookups by name across types, evidence by edge and by run, concepts by code.\n"
                          + "\n".join(plain) + "\n",
    }
