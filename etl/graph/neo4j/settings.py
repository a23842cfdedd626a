"""Neo4j's settings (`[graph.neo4j]` in config.toml) and the run-lock target it names.

etl/config.py reads this dataclass with the other settings and imports it from here, so this
module imports no driver: `etl.config` must stay cheap to import for every command.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Neo4jSettings:
    uri: str = "bolt://localhost:7687"
    user: str = "neo4j"
    database: str = "neo4j"
    init_schema: bool = True  # create constraints/indexes (IF NOT EXISTS) before the first write
    max_retry_time: float = 30.0  # seconds the driver keeps retrying a failed write transaction
    connection_timeout: float = 10.0

    def lock_target(self) -> str:
        """What the run lock (etl/lock.py) is about: the server and database, never a password."""
        return f"neo4j:{self.uri}/{self.database}"
