"""The Neo4j test server's own options (tools/neo4j-server: TestServer.java, neo4j_test_server.py).
The session's server (tests/conftest.py) is started with none of them; these start their own."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from neo4j_test_server import JAR, Neo4jTestServer

# `make test` builds the jar; only a session against an external Neo4j (NEO4J_TEST_URI, README)
# may lack it, and these tests are about the jar, not about that server. Without NEO4J_TEST_URI a
# missing jar fails them, with the error that says how to build it.
pytestmark = [pytest.mark.server,  # it starts the server: `make test` only, not `make check`
              pytest.mark.skipif(os.environ.get("NEO4J_TEST_URI") is not None and not JAR.is_file(),
                                 reason="tests of tools/neo4j-server need its jar (make neo4j-server); "
                                        "this session uses the external Neo4j of NEO4J_TEST_URI")]


def run_jar(*args: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("java"), "-jar", str(JAR), "--data", str(tmp_path / "neo4j"), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NEO4J_PASSWORD": "not-used-here"})


@pytest.mark.parametrize("args,message", [
    (["--conf", "no-equals-sign"], "--conf needs SETTING=VALUE"),
    (["--conf"], "--conf needs SETTING=VALUE"),
    (["--conf", "server.bolt.listen_address=0.0.0.0:7687"], "may not change server.bolt.listen_address"),
    (["--conf", "dbms.security.auth_enabled=false"], "may not change dbms.security.auth_enabled"),
    (["--conf", "server.memory.pagecache.size=8g"], "may not change server.memory.pagecache.size"),
])
def test_a_setting_the_server_owns_or_a_malformed_one_is_refused(args, message, tmp_path):
    done = run_jar(*args, tmp_path=tmp_path)
    assert done.returncode == 2, done
    assert message in done.stderr
    assert done.stdout == ""  # no ready line


def test_settings_reach_neo4j(tmp_path):
    server = Neo4jTestServer(tmp_path / "neo4j", heap="512m", pagecache="64m",
                             settings={"dbms.cypher.min_replan_interval": "1h",
                                       "dbms.cypher.statistics_divergence_threshold": "0.9"})
    with server:
        import neo4j

        with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as driver:
            records, _, _ = driver.execute_query(
                "SHOW SETTINGS YIELD name, value WHERE name STARTS WITH 'dbms.cypher.' RETURN name, value")
    values = {record["name"]: record["value"] for record in records}
    assert values["dbms.cypher.min_replan_interval"] == "1h"
    assert values["dbms.cypher.statistics_divergence_threshold"] == "0.9"
    assert values["dbms.cypher.planner"] == "DEFAULT"  # what was not set keeps its default
