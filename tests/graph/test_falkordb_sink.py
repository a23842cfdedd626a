"""What only the FalkorDB sink has: its private server (restarts, crashes, one per folder) and
its connection errors. The write protocol itself is tested on both stores in test_sinks.py."""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from etl.errors import LockedError, SinkError
from etl.graph.records import RunRecord
from etl.graph.falkordb.server import FalkorDBServer
from etl.graph.falkordb.sink import FalkorDBSink

from .conftest import doc, ev, falkordb_settings, snapshot


# starts or talks to a real FalkorDB or Neo4j: `make test` only, not `make check`
pytestmark = pytest.mark.server

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


def servers_running() -> set[str]:
    """The pids of the FalkorDB (redis-server) processes on this machine."""
    found = set()
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and open(f"/proc/{entry}/comm", encoding="utf-8").read().strip() == "redis-server":
                found.add(entry)
        except OSError:  # gone meanwhile
            continue
    return found


def test_a_deleted_lock_file_does_not_let_a_second_server_open_the_store(tmp_path, schema):
    """issue 30: `rm $DATA/falkordb.lock` during a run let `etl db stats` start a second server on
    the same files (and a second run mark the live one as killed). The data folder itself is
    locked: a second server is refused, a reader that cannot find the running server's socket
    waits (exit 5), and nothing else starts on the files."""
    from click.testing import CliRunner

    from etl.cli import cli
    from etl.graph.falkordb.settings import FalkorDBSettings

    settings = FalkorDBSettings(data_dir=tmp_path / "db")
    with FalkorDBSink(schema, settings, 100) as running:
        running.write_documents(BATCH, EVIDENCE, run_id="r1")
        (tmp_path / "db" / "falkordb.lock").unlink()
        servers = servers_running()
        with pytest.raises(LockedError, match="in use"):
            FalkorDBServer(tmp_path / "db").start()
        stats = CliRunner().invoke(cli, ["--set", f"graph.falkordb.data_dir={tmp_path / 'db'}", "db", "stats"])
        assert stats.exit_code == 5 and "in use" in stats.output, stats.output
        assert servers_running() == servers  # no second server was started
        running.write_documents(BATCH[:1], EVIDENCE[:1], run_id="r2")  # undisturbed
    with FalkorDBServer(tmp_path / "db"):  # released when the owner stops
        pass



def test_stale_running_runs_are_closed_by_the_next_run(fk_sink):
    """issue 17: a killed run's Run node stayed `running` for ever."""
    fk_sink.start_run(RunRecord("killed", "2026-11-21T10:00:00+00:00"))
    done = RunRecord("done", "2026-11-21T11:00:00+00:00", status="ok")
    fk_sink.start_run(done)
    assert fk_sink.close_stale_runs("next", "2026-11-22T02:30:00+00:00") == ["killed"]
    assert fk_sink.close_stale_runs("next", "2026-11-22T02:30:00+00:00") == []
    rows = {r["id"]: r for r in fk_sink.query(
        "MATCH (r:Run) RETURN r.run_id AS id, r.status AS status, r.finished_at AS finished, "
        "r.info_closed_by AS closed_by")}
    assert rows["killed"] == {"id": "killed", "status": "failed", "finished": "2026-11-22T02:30:00+00:00",
                              "closed_by": "next"}
    assert rows["done"]["status"] == "ok" and rows["done"]["closed_by"] is None


def test_read_only_commands_use_the_server_of_a_running_etl(tmp_path, schema):
    """issue 17: `etl db stats` / `etl query` refused to read while a run held the embedded store."""
    from click.testing import CliRunner

    from etl.cli import cli
    from etl.graph.falkordb.settings import FalkorDBSettings

    settings = FalkorDBSettings(data_dir=tmp_path / "db")
    config = tmp_path / "config.toml"
    config.write_text(f'[graph.falkordb]\ndata_dir = "{tmp_path / "db"}"\n', encoding="utf-8")
    with FalkorDBSink(schema, settings, 100) as running:  # what `etl run` holds while it writes
        running.write_documents(BATCH, EVIDENCE, run_id="r1")
        with pytest.raises(LockedError):
            FalkorDBSink(schema, settings, 100)  # a writer still has to wait
        with FalkorDBSink(schema, settings, 100, shared=True) as reader:
            assert reader.stats()["Document"] == 3 and "shared while it runs" in reader.describe()
        stats = CliRunner().invoke(cli, ["--config", str(config), "db", "stats", "--json"])
        assert stats.exit_code == 0, stats.output
        assert f'"Evidence": {len(EVIDENCE)}' in stats.output
        query = CliRunner().invoke(cli, ["--config", str(config), "query", "symptoms_of_disease",
                                         "--param", "disease=2型糖尿病", "--format", "json"])
        assert query.exit_code == 0 and "多饮" in query.output, query.output
        running.write_documents(BATCH[:1], EVIDENCE[:1], run_id="r2")  # the run goes on undisturbed
        assert running.server.alive()
    assert FalkorDBServer.running_socket(tmp_path / "db") == (None, None)


def test_socket_folders_of_killed_processes_are_removed(tmp_path):
    from etl.graph.falkordb.server import OWNER_FILE, SOCKET_PREFIX, remove_stale_socket_dirs

    dead = subprocess.Popen(["true"])
    dead.wait()
    for name, pid in (("dead", dead.pid), ("alive", os.getpid())):
        (tmp_path / f"{SOCKET_PREFIX}{name}").mkdir()
        (tmp_path / f"{SOCKET_PREFIX}{name}" / OWNER_FILE).write_text(f"{pid}\n")
    (tmp_path / f"{SOCKET_PREFIX}unknown").mkdir()  # no owner file: not ours to judge
    assert remove_stale_socket_dirs(str(tmp_path)) == [str(tmp_path / f"{SOCKET_PREFIX}dead")]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{SOCKET_PREFIX}alive", f"{SOCKET_PREFIX}unknown"]


def test_parameters_reach_the_server_as_the_values_sent(fk_sink):
    """cypher_header (the sink's own parameter encoder): every kind of value the writers send comes
    back from the server unchanged, and the text is what the client library would make of it."""
    from falkordb.graph import Graph

    from etl.graph.falkordb.sink import cypher_header

    values = ["", 'say "hi"', "back\\slash \\\"", "line\nbreak\ttab\r", "`}{)(", "x" * 5000, "😀 发热", None,
              True, False, 0, -7, 2**40, 0.5, 1e-07, -0.0, [], [1, "a", None, [True]], {"k": [1, {"deep": "v"}]}]
    # Lists go as JSON (_fast_list) unless they hold a map or need a \u escape; the rest by _literal.
    lists = {"row": [values[3], 3, 1.25, None, values[2], values[6], [values[4], [False]]],
             "control": ["bell\x07", "unit\x1fsep"], "look_alikes": ["a\\u0041", "{}", '{"k": 1}', "{'k'}"],
             "numbers": [1e300, -2**62, 0.125]}
    params = {"v": values, **lists}
    header = cypher_header(params)
    theirs = Graph._build_params_header(None, {"v": values})  # the map-bearing list: _literal's text
    assert header.startswith(theirs.replace("True", "true").replace("False", "false").removesuffix(" "))
    returns = ", ".join(f"${name} AS {name}" for name in params)
    [got] = fk_sink.graph.query(header + "RETURN " + returns).result_set
    assert got == list(params.values())
    with pytest.raises(ValueError):
        cypher_header({"bad`name": 1})
    with pytest.raises(TypeError):
        cypher_header({"v": object()})


def test_a_clean_stop_compacts_the_write_log_so_the_next_start_loads_a_snapshot(tmp_path, schema, monkeypatch):
    """Writes are logged as queries (the append-only file) and a start replays them one by one,
    far slower than the writes were (100k triples: minutes): a clean stop rewrites the log as a
    snapshot once it is large (COMPACT_BYTES; 0 here, so three triples are enough)."""
    from etl.graph.falkordb import server as falkordb_server

    monkeypatch.setattr(falkordb_server, "COMPACT_BYTES", 0)
    settings = falkordb_settings(data_dir=tmp_path / "db")
    with FalkorDBSink(schema, settings, 100) as sink:
        sink.write_documents(BATCH, EVIDENCE, run_id="r1")
        before = snapshot(sink)
    logs = {p.name.split(".")[-1]: p.stat().st_size for p in (tmp_path / "db" / "appendonlydir").glob("*.aof.*")}
    assert logs["aof"] == 0 and logs["rdb"] > 1000, logs  # nothing left to replay: all in the snapshot
    with FalkorDBSink(schema, settings, 100) as sink:
        assert snapshot(sink) == before


def test_a_start_waits_for_a_killed_servers_long_replay_instead_of_failing(tmp_path, schema, caplog):
    """After a crash the log is replayed: longer than the start-up timeout is not an error while
    the server says it is loading (or is too busy replaying to answer)."""
    data = tmp_path / "db"
    settings = falkordb_settings(data_dir=data)
    with FalkorDBServer(data) as server:
        sink = FalkorDBSink(schema, settings, 500, server=server)
        for n in range(15):  # 15 logged writes of 50 documents, 4 triples each
            docs = [doc(f"d{n}-{i}") for i in range(50)]
            sink.write_documents(docs, [ev(d.doc_id, f"病{n % 7}-{i}", "临床表现", f"症状{n}-{i}-{k}", 0.9, 10 * k,
                                           sentence="患者" * 40)
                                        for i, d in enumerate(docs) for k in range(4)], run_id=f"r{n}")
        expected = snapshot(sink)
        sink.close()
        server.kill()
    caplog.set_level("WARNING")
    started = time.monotonic()
    with FalkorDBServer(data, startup_timeout=1.0) as server:  # the replay takes longer than that
        assert time.monotonic() - started > 3.0  # it did: the start waited for it
        sink = FalkorDBSink(schema, settings, 500, server=server)
        assert snapshot(sink) == expected
        sink.close()
    assert any("still loading its data files" in r.getMessage() for r in caplog.records), caplog.text
