"""What only the Neo4j sink has: connection and authentication errors, the driver it runs on.
The write protocol itself is tested on both stores in test_sinks.py."""
from __future__ import annotations

import pytest

from etl.errors import EXIT_SINK, SinkError
from etl.graph.neo4j.settings import Neo4jSettings
from etl.graph.neo4j.sink import Neo4jSink

from .conftest import doc, ev


def test_unreachable_server_gives_a_clear_error_without_the_password(schema, monkeypatch):
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-pass")
    settings = Neo4jSettings(uri="bolt://127.0.0.1:1", connection_timeout=2.0, max_retry_time=1.0)
    with pytest.raises(SinkError) as failure:
        Neo4jSink(schema, settings, 10)
    assert "cannot reach Neo4j at bolt://127.0.0.1:1" in str(failure.value)
    assert "s3cret" not in str(failure.value) and failure.value.exit_code == EXIT_SINK


def test_wrong_or_missing_password_is_an_authentication_error(schema, neo4j_db, monkeypatch):
    if not neo4j_db.password:
        pytest.skip("the external Neo4j named by NEO4J_TEST_URI runs without authentication")
    monkeypatch.setenv("NEO4J_PASSWORD", "not-the-s3cret")
    with pytest.raises(SinkError) as failure:
        Neo4jSink(schema, neo4j_db.settings(), 10)
    assert "authentication failed" in str(failure.value) and "s3cret" not in str(failure.value)
    monkeypatch.delenv("NEO4J_PASSWORD")
    with pytest.raises(SinkError, match=r"authentication failed \(NEO4J_PASSWORD is not set\)"):
        Neo4jSink(schema, neo4j_db.settings(), 10)


def test_the_driver_runs_with_its_rust_extension():
    # neo4j-rust-ext (requirements.txt) replaces the driver's Bolt packing with compiled code;
    # the driver falls back to pure Python silently when it is missing.
    from neo4j._codec.packstream import v1

    assert v1._rust_pack is not None and v1._rust_unpack is not None


def test_the_tests_run_on_neo4j_5_26_community(neo4j_db):
    component = neo4j_db.execute("CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition")
    assert component[0]["v"].startswith("5.")
    if neo4j_db.server is not None:  # the server the test command starts
        assert component == [{"v": neo4j_db.server.version, "edition": "community"}]
        assert component[0]["v"].startswith("5.26.")


def test_a_batch_larger_than_one_statement(make_neo4j_sink):
    """Hundreds of rows per UNWIND statement and big parameter maps (the Bolt listener this
    writer was tested on before crashed over ~4 KB of parameters)."""
    sink = make_neo4j_sink(batch_size=500)
    docs = [doc(f"d{i}") for i in range(50)]
    rows = [ev(f"d{i % 50}", f"病{i % 37}", "临床表现", f"症{i}", 0.5 + (i % 50) / 100, i * 3) for i in range(1500)]
    stats = sink.write_documents(docs, rows, run_id="r1")
    assert stats.evidence == 1500 and sink.stats()["Evidence"] == 1500 and sink.stats()["HAS_SYMPTOM"] == 1500
