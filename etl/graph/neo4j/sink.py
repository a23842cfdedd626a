"""Neo4j sink: the official driver (with neo4j-rust-ext installed it is picked up automatically).

Each batch of documents is one managed write transaction (`session.execute_write`): the driver
retries it as a whole on transient errors and lost connections, and Neo4j rolls a failed attempt
back, so a batch is all-or-nothing. Constraints and indexes are created (`IF NOT EXISTS`: dialect.py)
by `etl db init` and before the first write, unless `graph.neo4j.init_schema = false`.
The password comes only from NEO4J_PASSWORD.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

import neo4j
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable
from neo4j.graph import Node, Path as GraphPath, Relationship

from etl.config import secret
from etl.errors import SinkError
from etl.graph.neo4j import dialect
from etl.graph.neo4j.settings import Neo4jSettings
from etl.graph.records import SCALARS
from etl.graph.sink import CypherSink, Runner
from etl.graph.statements import Statement
from etl.schema import Schema

log = logging.getLogger(__name__)
T = TypeVar("T")


def plain(value):
    """Driver values -> JSON-ready Python (nodes and relationships as property dicts)."""
    if type(value) in SCALARS:  # most values; a rewrite reads back ~110,000 of them per 10,000 triples
        return value
    if isinstance(value, Node):
        return {"_labels": sorted(value.labels), **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, Relationship):
        return {"_type": value.type, **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, GraphPath):
        return {"nodes": [plain(n) for n in value.nodes], "edges": [plain(r) for r in value.relationships]}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):  # neo4j temporal types
        return value.iso_format()
    return value


class TransactionRunner:
    """Runs statements in one transaction, rows as plain values (a `Runner`). `tx` is public for a
    wrapper (CypherSink.wrap_statements) that must run something else in the same transaction,
    e.g. a PROFILE of each statement (the probe bench/profile_sinks.py did that: BENCHMARKS.md)."""
    __slots__ = ("tx",)

    def __init__(self, tx):
        self.tx = tx

    def __call__(self, statement: Statement) -> list[dict]:
        result = self.tx.run(statement.text, statement.params)
        return [{key: plain(value) for key, value in record.items()} for record in result]


class Neo4jSink(CypherSink):
    kind = "neo4j"

    def __init__(self, schema: Schema, settings: Neo4jSettings, batch_size: int):
        super().__init__(schema, batch_size, init_schema=settings.init_schema)
        self.settings = settings
        self._where = f"Neo4j at {settings.uri} (user {settings.user!r}, database {settings.database!r})"
        password = secret("neo4j")
        auth = (settings.user, password) if password else None
        try:
            self.driver = neo4j.GraphDatabase.driver(
                settings.uri, auth=auth, user_agent="medkg-etl",
                max_transaction_retry_time=settings.max_retry_time,
                connection_timeout=settings.connection_timeout,
                # On a new database every label and property the statements name is "unknown",
                # and the server says so for each statement (logged as warnings by the driver).
                # The statements are fixed and linted (tests/graph/test_cypher_lint.py): no notes.
                notifications_min_severity="OFF")
        except (DriverError, Neo4jError, ValueError, OSError) as error:  # e.g. a malformed uri
            raise SinkError(f"cannot reach {self._where}: {_describe(error)}") from None
        try:
            self.verify_connectivity()
        except SinkError:
            self._close_driver()
            raise

    def describe(self) -> str:
        return self._where

    def verify_connectivity(self) -> None:
        try:
            self.driver.verify_connectivity()
        except AuthError:
            hint = "" if secret("neo4j") else " (NEO4J_PASSWORD is not set)"
            raise SinkError(f"{self._where}: authentication failed{hint}") from None
        except (ServiceUnavailable, DriverError, Neo4jError, ValueError, OSError) as error:
            raise SinkError(f"cannot reach {self._where}: {_describe(error)}") from None

    def _close_driver(self) -> None:
        driver = getattr(self, "driver", None)
        if driver is not None:
            driver.close()

    # ------------------------------------------------------------------ running statements
    @contextmanager
    def session(self) -> Iterator[neo4j.Session]:
        """A driver session on the configured database (the server's default when empty)."""
        with self.driver.session(database=self.settings.database or None) as session:
            yield session

    def _write(self, work: Callable[[Runner], T]) -> T:
        try:
            with self.session() as session:
                return session.execute_write(lambda tx: work(self._wrapped(TransactionRunner(tx))))
        except (Neo4jError, DriverError, OSError) as error:
            raise SinkError(f"{self._where}: write failed: {_describe(error)}") from None

    def _read(self, work: Callable[[Runner], T]) -> T:
        try:
            with self.session() as session:
                return session.execute_read(lambda tx: work(self._wrapped(TransactionRunner(tx))))
        except (Neo4jError, DriverError, OSError) as error:
            raise SinkError(f"{self._where}: read failed: {_describe(error)}") from None

    # ------------------------------------------------------------------ schema
    def init_schema(self) -> list[str]:
        # Schema changes cannot share a transaction with writes: one auto-commit query each.
        statements = dialect.schema_statements(self.index_specs())
        try:
            with self.session() as session:
                for statement in statements:
                    session.run(statement.text).consume()
        except (Neo4jError, DriverError, OSError) as error:
            raise SinkError(f"{self._where}: schema set-up failed: {_describe(error)}") from None
        self._schema_ready = True
        return [s.text for s in statements]

    def schema_in_place(self) -> tuple[set, set]:
        with self.session() as session:  # auto-commit: schema commands, like init_schema's
            constraints = session.run(dialect.SHOW_CONSTRAINTS).data()
            indexes = session.run(dialect.SHOW_INDEXES).data()
        return dialect.schema_in_place(constraints, indexes)

    def close(self) -> None:
        self._close_driver()


def _describe(error: Exception) -> str:
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or str(error)
    return f"{type(error).__name__}{f' [{code}]' if code else ''}: {message}".strip()
