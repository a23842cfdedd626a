"""What only the FalkorDB sink has: its private server (restarts, crashes, one per folder) and
its connection errors. The write protocol itself is tested on both stores in test_sinks.py."""
from __future__ import annotations

import pytest

from etl.errors import LockedError, SinkError
from etl.graph.falkordb_server import FalkorDBServer
from etl.graph.falkordb_sink import FalkorDBSink

from .conftest import doc, ev, falkordb_settings, snapshot

BATCH = [doc("d1", "h1", section="现病史"), doc("d2", "h2"), doc("d3", "h3")]
EVIDENCE = [
    ev("d1", "2型糖尿病", "临床表现", "多饮", 0.9, 0),
    ev("d1", "2型糖尿病", "临床表现", "多尿", 0.8, 10),
    ev("d2", "2型糖尿病", "并发症", "糖尿病肾病", 0.95, 5),
]


def test_unreachable_server_gives_a_clear_error_without_the_password(schema, monkeypatch, tmp_path):
    monkeypatch.setenv("FALKORDB_PASSWORD", "s3cret-pass")
    for url in (f"unix://{tmp_path}/nothing.sock", "redis://:s3cret-in-url@127.0.0.1:1"):
        with pytest.raises(SinkError) as failure:
            FalkorDBSink(schema, falkordb_settings(url=url), 10)
        message = str(failure.value)
        assert "cannot reach FalkorDB" in message
        assert "s3cret" not in message


def test_data_survives_a_restart_and_a_crash(tmp_path, schema):
    settings = falkordb_settings(data_dir=tmp_path / "db", appendfsync="always")
    with FalkorDBSink(schema, settings, 100) as sink:
        sink.write_documents(BATCH, EVIDENCE, run_id="r1")
        before = snapshot(sink)
    with FalkorDBSink(schema, settings, 100) as sink:  # clean stop + start
        assert snapshot(sink) == before
        sink.write_documents([doc("d4")], [ev("d4", "高血压", "临床表现", "头痛")], run_id="r2")
        after = snapshot(sink)
        sink.server.kill()  # crash: no shutdown save, only the append-only file
    with FalkorDBSink(schema, settings, 100) as sink:
        assert snapshot(sink) == after
        assert set(sink.known_documents(["d1", "d4"])) == {"d1", "d4"}


def test_one_server_per_data_folder(tmp_path):
    with FalkorDBServer(tmp_path / "db"):
        with pytest.raises(LockedError, match="in use"):
            FalkorDBServer(tmp_path / "db").start()
