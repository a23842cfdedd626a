"""FalkorDB's part of the one place the two stores differ for this tool: schema set-up, and
reading the schema back (`etl doctor`). Neo4j's part is etl/graph/neo4j/dialect.py.

FalkorDB has `CREATE INDEX FOR (n:L) ON (n.p)` (an error if it already exists, no IF NOT EXISTS)
and unique constraints only through the `GRAPH.CONSTRAINT CREATE` command, which needs that index
first. Indexes matter beyond correctness: FalkorDB's MERGE without them is ~50x slower (STACK.md).
"""
from __future__ import annotations

from etl.graph.statements import IndexSpec, Statement

# What `schema_in_place` reads (procedures: FalkorDB has no SHOW commands)
SHOW_CONSTRAINTS = "CALL db.constraints()"
SHOW_INDEXES = "CALL db.indexes()"


def index_statement(spec: IndexSpec) -> Statement:
    return Statement(f"index {spec.name}", f"CREATE INDEX FOR (n:{spec.label}) ON (n.{spec.prop})")


def constraint_command(graph_name: str, spec: IndexSpec) -> tuple:
    """Arguments of the GRAPH.CONSTRAINT command (not Cypher) for a unique spec."""
    return ("GRAPH.CONSTRAINT", "CREATE", graph_name, "UNIQUE", "NODE", spec.label,
            "PROPERTIES", 1, spec.prop)


def already_exists(error: Exception) -> bool:
    """FalkorDB reports an existing index/constraint as an error; set-up treats it as done."""
    text = str(error).lower()
    return "already indexed" in text or "already exists" in text or "constraint already" in text


def schema_in_place(constraints: list[dict], indexes: list[dict]) -> tuple[set, set]:
    """(unique (label, prop) pairs, indexed pairs) from the rows of SHOW_CONSTRAINTS and
    SHOW_INDEXES: operational single-property unique constraints, and every indexed property."""
    unique = {(row["label"], row["properties"][0]) for row in constraints
              if row.get("type") == "UNIQUE" and row.get("status") == "OPERATIONAL"
              and len(row.get("properties") or []) == 1}
    indexed = {(row["label"], prop) for row in indexes for prop in row.get("properties") or []}
    return unique, indexed
