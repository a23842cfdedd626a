"""Shared fixtures: where ../shared/data is, small real samples cut from it, and a real Neo4j."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "cmeie" / "cmeie_labeled.jsonl").is_file():
        pytest.fail(f"the shared data folder is missing: expected {SHARED_DATA} beside the project")
    return SHARED_DATA


@pytest.fixture(scope="session")
def vocab_path(shared_data) -> Path:
    return shared_data / "vocab" / "chinese_bert_vocab.txt"


@pytest.fixture(scope="session")
def cmeie_samples(shared_data):
    from etl.data.cmeie import read_cmeie

    return list(read_cmeie(shared_data / "cmeie" / "cmeie_labeled.jsonl"))


@pytest.fixture(scope="session")
def schema():
    from etl.schema import load_schema

    return load_schema()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, vocab_path, cmeie_samples, schema) -> dict:
    """Tiny real model folders (tests/tiny_models.py), built once for every test that runs `etl`
    in a subprocess: {"relation": folder, "spans": folder, "texts": short CMeIE texts}."""
    from tiny_models import relation_folder, spans_folder

    root = tmp_path_factory.mktemp("tiny-models")
    samples = [s for s in cmeie_samples if len(s.text) < 60][:6]
    relation_folder(root / "relation", vocab_path, [s.text for s in samples], schema)
    spans_folder(root / "spans", vocab_path, samples)
    return {"relation": root / "relation", "spans": root / "spans", "texts": [s.text for s in samples]}


# ---------------------------------------------------------------------- a real Neo4j 5.26
# tools/neo4j-server (built by `make test`): one server per test session, started on first use,
# stopped at the end. NEO4J_TEST_URI (+ NEO4J_TEST_USER, NEO4J_TEST_PASSWORD,
# NEO4J_TEST_DATABASE) runs the same tests against an external Neo4j 5 instead: its database is
# emptied by the tests, so never point it at data you want to keep.
sys.path.insert(0, str(ROOT / "tools" / "neo4j-server"))


@dataclass
class Neo4jTarget:
    uri: str
    user: str
    password: str | None
    database: str
    server: object | None = None  # the Neo4jTestServer we started, or None for an external one
    version: str = ""

    @property
    def auth(self):
        return (self.user, self.password) if self.password else None

    def settings(self, **overrides):
        from etl.graph.neo4j.settings import Neo4jSettings

        return replace(Neo4jSettings(uri=self.uri, user=self.user, database=self.database,
                                     max_retry_time=5.0, connection_timeout=10.0), **overrides)

    def env(self) -> dict[str, str]:
        """What `etl` needs in its environment to reach this server."""
        env = {"ETL_GRAPH_NEO4J_URI": self.uri, "ETL_GRAPH_NEO4J_USER": self.user,
               "ETL_GRAPH_NEO4J_DATABASE": self.database}
        if self.password:
            env["NEO4J_PASSWORD"] = self.password
        return env

    def execute(self, query: str, **params) -> list[dict]:
        """One auto-commit query (schema commands and CALL {} IN TRANSACTIONS need that)."""
        import neo4j

        with neo4j.GraphDatabase.driver(self.uri, auth=self.auth) as driver:
            with driver.session(database=self.database) as session:
                return [record.data() for record in session.run(query, params)]

    def reset(self, schema: bool = False) -> None:
        """Empty the database (and with `schema`, drop its constraints and indexes too)."""
        self.execute("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
        if schema:
            for row in self.execute("SHOW CONSTRAINTS YIELD name"):
                self.execute(f"DROP CONSTRAINT `{row['name']}` IF EXISTS")
            for row in self.execute("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'"):
                self.execute(f"DROP INDEX `{row['name']}` IF EXISTS")


# Tests that open Neo4j Browser ask for this fixture; the server starts its HTTP connector (several
# seconds more) only when such a test is among those collected.
BROWSER_FIXTURE = "browser_target"


@pytest.fixture(scope="session")
def neo4j_server(request, tmp_path_factory) -> Neo4jTarget:
    if os.environ.get("NEO4J_TEST_URI"):
        target = Neo4jTarget(os.environ["NEO4J_TEST_URI"], os.environ.get("NEO4J_TEST_USER", "neo4j"),
                             os.environ.get("NEO4J_TEST_PASSWORD") or None,
                             os.environ.get("NEO4J_TEST_DATABASE", "neo4j"))
        target.version = target.execute("CALL dbms.components() YIELD versions RETURN versions[0] AS v")[0]["v"]
        yield target
        return
    from neo4j_test_server import Neo4jServerError, Neo4jTestServer

    http = any(BROWSER_FIXTURE in getattr(item, "fixturenames", ()) for item in request.session.items)
    server = Neo4jTestServer(tmp_path_factory.mktemp("neo4j"), http=http)
    try:
        server.start()
    except Neo4jServerError as error:
        pytest.fail(f"could not start the Neo4j test server: {error}")
    try:
        yield Neo4jTarget(server.uri, server.user, server.password, "neo4j", server, server.version)
    finally:
        server.stop()


# ---------------------------------------------------------------------- a local Ray
@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray (2 CPUs, this machine's) for every `--engine ray` test: `etl run` finds it
    initialised and uses it instead of starting its own, so the actors' start-up is paid per run,
    the cluster's once."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


# `make check` runs what needs no server and trains no model (`-m "not server and not slow"`). A test
# is marked by the fixtures it asks for (their whole closure), so no list of files goes stale; the
# few other slow tests carry `@pytest.mark.slow` themselves.
# `store` reaches its server through request.getfixturevalue, which the closure does not show.
SERVER_FIXTURES = frozenset({"neo4j_server", "falkordb_server", "ray_cluster", "store"})
SLOW_FIXTURES = frozenset({"tiny_models"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SERVER_FIXTURES:
            item.add_marker(pytest.mark.server)
        if fixtures & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)
