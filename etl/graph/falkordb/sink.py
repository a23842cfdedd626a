"""FalkorDB sink: native protocol through the `falkordb` client.

Either a private server this sink starts and stops (empty `graph.falkordb.url`, data in
`graph.falkordb.data_dir`) or an existing FalkorDB at `url` (redis://host:port or unix:///path;
password from FALKORDB_PASSWORD). FalkorDB has no multi-statement transactions: each statement is
atomic and the write protocol (etl/graph/sink.py) is ordered so that a batch cut short is redone
correctly by writing it again; connection failures retry the whole batch a few times.

`shared=True` (read-only commands): when another process (an `etl run`) holds the private
server's data folder, connect to that process's server instead of failing with "in use".
"""
from __future__ import annotations

import json
import logging
import numbers
import os
import time
from typing import Callable, TypeVar

import redis
from falkordb import FalkorDB
from falkordb.edge import Edge
from falkordb.node import Node
from falkordb.path import Path as GraphPath

from etl.config import secret
from etl.errors import LockedError, SinkError, StoreMissingError
from etl.graph.falkordb import dialect
from etl.graph.falkordb.server import FalkorDBServer, store_exists
from etl.graph.falkordb.settings import FalkorDBSettings
from etl.graph.records import SCALARS
from etl.graph.sink import CypherSink, Runner
from etl.graph.statements import Statement
from etl.schema import Schema

log = logging.getLogger(__name__)
T = TypeVar("T")
_RETRYABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def plain(value):
    """Client values -> JSON-ready Python (nodes and edges as property dicts)."""
    if type(value) in SCALARS:  # most values; a rewrite reads back ~110,000 of them per 10,000 triples
        return value
    if isinstance(value, Node):
        return {"_labels": list(value.labels or []), **{k: plain(v) for k, v in value.properties.items()}}
    if isinstance(value, Edge):
        return {"_type": value.relation, **{k: plain(v) for k, v in value.properties.items()}}
    if isinstance(value, GraphPath):
        return {"nodes": [plain(n) for n in value.nodes()], "edges": [plain(e) for e in value.edges()]}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def result_rows(result) -> list[dict]:
    """A falkordb QueryResult as rows of plain values, by column name."""
    names = [column[1] for column in result.header]
    return [dict(zip(names, (plain(v) for v in row))) for row in result.result_set]


def cypher_header(params: dict) -> str:
    """`CYPHER name=value ...` ahead of a query: FalkorDB takes parameters as Cypher literals in
    the query text. The client's own encoder (falkordb.helpers.stringify_param_value) cost ~25% of
    a write's client time (10,000 evidence rows: 350,000 values); this one dispatches on the exact
    type and escapes only strings that need it, and hands lists to the JSON encoder (_fast_list)."""
    if not params:
        return ""
    return "CYPHER " + " ".join(f"`{_key(name)}`={_fast_list(value) or _literal(value)}"
                                for name, value in params.items()) + " "


_json_list = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _fast_list(value) -> str | None:
    r"""A list as JSON text, which is its Cypher literal too when it holds no map and JSON wrote
    no \u escape (FalkorDB reads \n, \t, \" and \\ as JSON does, but not \u: JSON writes one
    for a control character): then None, and _literal writes it. Twice as fast as _literal on
    evidence rows (C encoder). A map shows as `{"` or `{}` outside strings (inside a JSON string
    a quote is escaped); `{}` inside a string only sends it the slow way."""
    if type(value) is not list:
        return None
    try:
        text = _json_list(value)
    except (TypeError, ValueError):  # e.g. a numpy number; NaN
        return None
    if '{"' in text or "{}" in text or "\\u" in text:
        return None
    return text


def _key(name) -> str:
    name = str(name)
    if not name or "`" in name:  # FalkorDB has no escaped backtick in identifiers
        raise ValueError(f"bad Cypher parameter or map key {name!r}")
    return name


def _literal(value) -> str:
    kind = type(value)
    if kind is str:
        if "\\" in value or '"' in value:
            value = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{value}"'
    if kind is list or kind is tuple:
        return f"[{','.join(map(_literal, value))}]"
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return repr(value)
    if kind is dict:
        return "{" + ",".join(f"`{_key(k)}`:{_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, numbers.Integral):  # e.g. numpy integers
        return repr(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    raise TypeError(f"no Cypher literal for {kind.__name__} {value!r}")


class FalkorDBSink(CypherSink):
    kind = "falkordb"

    def __init__(self, schema: Schema, settings: FalkorDBSettings, batch_size: int, *,
                 server: FalkorDBServer | None = None, retries: int = 3, retry_delay: float = 0.5,
                 module_args: tuple[str, ...] = (), shared: bool = False, create: bool = True):
        super().__init__(schema, batch_size)
        self.settings = settings
        self.graph_name = settings.graph_name
        self.retries = retries
        self.retry_delay = retry_delay
        self.server = server
        self._own_server = False
        if settings.url:
            self._where = f"FalkorDB at {_redact(settings.url)}, graph {self.graph_name!r}"
            try:
                self.db = FalkorDB.from_url(settings.url, password=secret("falkordb"),
                                            socket_timeout=settings.socket_timeout)
                self.db.connection.ping()
            except redis.exceptions.RedisError as error:
                raise SinkError(f"cannot reach {self._where}: {type(error).__name__}: {error}") from None
        else:
            if not create and self.server is None and not store_exists(settings.data_dir):
                raise StoreMissingError(
                    f"no graph store in {os.path.abspath(settings.data_dir)} (graph.falkordb.data_dir): nothing "
                    f"was ever written there; check the setting (ETL_GRAPH_FALKORDB_DATA_DIR), or create the "
                    f"store with `etl run` or `etl db init`")
            if self.server is None:
                self.server = FalkorDBServer(settings.data_dir, appendfsync=settings.appendfsync,
                                             module_args=module_args)
                self._own_server = True
            try:
                self.server.start()
                socket_path = self.server.socket_path
                self._where = f"private FalkorDB (data in {self.server.data_dir}), graph {self.graph_name!r}"
            except LockedError:
                if not shared:
                    raise
                socket_path = self._join_running(settings)
            self.db = FalkorDB(unix_socket_path=socket_path, socket_timeout=settings.socket_timeout)
        self.graph = self.db.select_graph(self.graph_name)

    def describe(self) -> str:
        return self._where

    def verify_connectivity(self) -> None:
        try:
            self.db.connection.ping()
        except redis.exceptions.RedisError as error:
            raise SinkError(f"cannot reach {self._where}: {type(error).__name__}: {error}") from None

    def _join_running(self, settings: FalkorDBSettings) -> str:
        """The socket of the server another process (a running `etl run`) keeps over the folder."""
        pid, socket_path = FalkorDBServer.running_socket(settings.data_dir)
        folder = self.server.data_dir
        self.server, self._own_server = None, False
        if not socket_path or not os.access(socket_path, os.R_OK | os.W_OK):
            raise LockedError(f"the FalkorDB data folder {folder} is in use by process {pid or '?'} and its "
                              f"server cannot be reached by this user: wait until that process has finished")
        self._where = (f"private FalkorDB of process {pid} (data in {folder}), graph {self.graph_name!r}, "
                       f"shared while it runs")
        try:
            FalkorDB(unix_socket_path=socket_path, socket_timeout=5).connection.ping()
        except redis.exceptions.RedisError as error:
            raise LockedError(f"the FalkorDB data folder {folder} is in use by process {pid} whose server "
                              f"does not answer ({error}): wait until that process has finished") from None
        return socket_path

    # ------------------------------------------------------------------ running statements
    def _run(self, statement: Statement) -> list[dict]:
        try:
            result = self.graph.query(cypher_header(statement.params) + statement.text)
        except redis.exceptions.ResponseError as error:
            # A statement the server refused: not retryable, and a bug or bad input.
            raise SinkError(f"{self._where}: {statement.name} failed: {error}") from None
        return result_rows(result)

    def _attempts(self, work: Callable[[Runner], T]) -> T:
        for attempt in range(self.retries + 1):
            try:
                return work(self._wrapped(self._run))
            except _RETRYABLE as error:
                if self.server is not None and not self.server.alive():
                    raise SinkError(f"{self._where}: the server has stopped ({type(error).__name__}); "
                                    f"log tail:\n{self.server.log_tail(5)}") from None
                if attempt == self.retries:
                    raise SinkError(f"{self._where}: {type(error).__name__}: {error} "
                                    f"(gave up after {self.retries + 1} attempts)") from None
                delay = self.retry_delay * 2 ** attempt
                log.warning("FalkorDB write failed (%s); retrying the batch in %.1f s", error, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _write(self, work: Callable[[Runner], T]) -> T:
        # The whole unit of work is retried: it is idempotent by construction (etl/graph/sink.py).
        return self._attempts(work)

    def _read(self, work: Callable[[Runner], T]) -> T:
        return self._attempts(work)

    # ------------------------------------------------------------------ schema
    def init_schema(self) -> list[str]:
        done = []
        for spec in self.index_specs():
            statement = dialect.index_statement(spec)
            try:
                self._attempts(lambda run: run(statement))
                done.append(statement.text)
            except SinkError as error:
                if not dialect.already_exists(error):
                    raise
            if spec.unique:
                command = dialect.constraint_command(self.graph_name, spec)
                try:
                    self.db.connection.execute_command(*command)
                    done.append(" ".join(map(str, command)))
                except redis.exceptions.ResponseError as error:
                    if not dialect.already_exists(error):
                        raise SinkError(f"{self._where}: creating constraint {spec.name} failed: "
                                        f"{error}") from None
                except _RETRYABLE as error:
                    raise SinkError(f"{self._where}: {type(error).__name__}: {error}") from None
        self._schema_ready = True
        return done

    def schema_in_place(self) -> tuple[set, set]:
        return dialect.schema_in_place(self.query(dialect.SHOW_CONSTRAINTS), self.query(dialect.SHOW_INDEXES))

    def close(self) -> None:
        try:
            self.db.close()
        except Exception:  # closing a dead connection must not hide the real error
            pass
        if self._own_server and self.server is not None:
            self.server.stop()


def _redact(url: str) -> str:
    """Hide a password someone put in the URL anyway."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url
