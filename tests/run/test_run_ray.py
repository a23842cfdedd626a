"""`etl run --engine ray` (Ray local mode, the session's 2-CPU cluster) gives the graph and the report
counts a local run gives, over real shared notes with the shipped models into real embedded FalkorDBs."""
from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl.errors import EXIT_OK, EXIT_PARTIAL, EXIT_SINK
from tests.run.test_run import etl, last_report, settings_file, snapshot, with_bad_rows, write_notes

# Every count of the run report; the two engines must agree on each.
COUNTS = ("rows_read", "documents_extracted", "documents_skipped", "documents_quarantined",
          "quarantine_by_reason", "windows", "main_conditions", "span_queries", "triples", "triples_asserted",
          "assertions", "assertion_mentions", "triples_dropped_by_schema", "triples_dropped_as_normal",
          "triples_dropped_as_past_history", "triples_dropped_as_site_apart", "triples_from_lists",
          "triples_dropped_as_no_disease", "triples_by_predicate", "model_versions", "exit_code")
# Two actors of one CPU each (the cluster's two), small batches: several batches per actor.
RAY = ("--set", "ray.actors=2", "--set", "ray.batch_rows=8")


@pytest.fixture(scope="module")
def notes60(shared_data):
    table = pq.read_table(shared_data / "notes" / "ccks2017_notes.parquet")
    return [r for r in table.to_pylist() if 250 <= len(r["text"]) <= 600][:60]


def counts(report: dict) -> dict:
    return {name: report[name] for name in COUNTS}


def same_graph(got: dict, expected: dict, tolerance: float = 2e-6) -> bool:
    """The two snapshots are the same graph: every row equal, its floats (scores, mean scores) within
    `tolerance`. Exact float equality would be flaky even between two local runs: the local engine
    batches the windows of as many documents as are waiting (thread timing), and a model score
    computed in another batch shape can differ in its last bits, so its 6-digit rounding can flip."""
    def split(rows):
        out = {}
        for row in rows:
            floats = []

            def strip(value):
                if isinstance(value, float):
                    floats.append(value)
                    return "<float>"
                if isinstance(value, dict):
                    return {k: strip(v) for k, v in value.items()}
                if isinstance(value, list):
                    return [strip(v) for v in value]
                return value
            out.setdefault(json.dumps(strip(json.loads(row)), sort_keys=True, ensure_ascii=False), []).append(floats)
        return {key: sorted(values) for key, values in out.items()}

    for part in expected.keys() | got.keys():
        a, b = split(got.get(part, [])), split(expected.get(part, []))
        assert a.keys() == b.keys(), f"{part}: rows differ beyond their scores"
        for key in a:
            assert len(a[key]) == len(b[key]), f"{part}: {key}"
            for x, y in zip(a[key], b[key]):
                assert all(abs(p - q) <= tolerance for p, q in zip(x, y)), f"{part}: {key}: {x} != {y}"
    return True


@contextlib.contextmanager
def killing_model_actors(ray_cluster, most: int | None = None, states=("ALIVE",)):
    """While the block runs, a thread kills (ray.kill) every model actor found in one of `states`,
    at most `most` of them; yields the ids killed."""
    import threading

    from ray._private.state import actors

    killed, running = [], threading.Event()
    running.set()

    def kill():
        core = ray_cluster._private.worker.global_worker.core_worker
        while running.is_set() and (most is None or len(killed) < most):
            for actor_id, info in actors().items():
                if "ExtractActor" in info["ActorClassName"] and info["State"] in states and actor_id not in killed:
                    with contextlib.suppress(Exception):  # it may be gone between the listing and the kill
                        ray_cluster.kill(core.get_actor_handle(ray_cluster.ActorID.from_hex(actor_id)))
                        killed.append(actor_id)
                    break
            time.sleep(0.05)

    killer = threading.Thread(target=kill, daemon=True)
    killer.start()
    try:
        yield killed
    finally:
        running.clear()
        killer.join()


def both(tmp_path, models):
    local_dir, ray_dir = tmp_path / "local", tmp_path / "ray"
    local_dir.mkdir()
    ray_dir.mkdir()
    return (local_dir, settings_file(local_dir, models)), (ray_dir, settings_file(ray_dir, models))


def test_ray_engine_gives_the_local_graph_and_counts_then_skips_everything(tmp_path, models, notes60, ray_cluster):
    (local_dir, local), (ray_dir, on_ray) = both(tmp_path, models)
    source = tmp_path / "notes.parquet"
    pq.write_table(pa.Table.from_pylist(notes60), source, row_group_size=20)  # three Ray read blocks
    assert etl(local, "run", "--input", str(source)).exit_code == EXIT_OK
    # Read 16 rows at a time: the driver streams (rows read, checked, extracted and written a piece
    # at a time, at most 2 x 2 actors x 8 documents in flight), never holding the whole input.
    result = etl(on_ray, *RAY, "--set", "input.read_batch_rows=16",
                 "run", "--input", str(source), "--engine", "ray")
    assert result.exit_code == EXIT_OK, result.output
    streamed = last_report(ray_dir)["runtime"]["ray"]
    assert streamed["actors_started"] == 2  # once per run, not per batch or chunk
    assert streamed["read_batches"] >= len(notes60) // 16
    assert streamed["actor_batches"] == 8  # seven of 8 documents, then the last 4
    assert streamed["max_documents_in_flight"] <= 2 * 2 * 8
    assert streamed["rows_read_at_first_write"] < len(notes60)  # writing began before reading ended
    expected, got = snapshot(local), snapshot(on_ray)
    assert got["evidence"] and len(got["documents"]) == len(notes60)
    assert same_graph(got, expected)  # entities, typed edges with their aggregates, evidence, Document ledger entries
    local_report, ray_report = last_report(local_dir), last_report(ray_dir)
    assert counts(ray_report) == counts(local_report)
    assert ray_report["stage_seconds"]["relations"] > 0 and ray_report["stage_seconds"]["write"] > 0
    assert (local_report["engine"], ray_report["engine"]) == ("local", "ray")
    assert ray_report["runtime"]["ray"]["cluster_cpus"] == 2 and ray_report["runtime"]["ray"]["actors"] == 2

    rerun = etl(on_ray, *RAY, "run", "--input", str(source), "--engine", "ray")
    assert rerun.exit_code == EXIT_OK, rerun.output
    report = last_report(ray_dir)
    assert report["documents_skipped"] == len(notes60) and report["documents_extracted"] == 0
    assert report["runtime"]["ray"]["actors_started"] == 0  # nothing to extract: no model loaded
    assert same_graph(snapshot(on_ray), expected)

    # A changed document is replaced, as a local run replaces it.
    changed = [dict(n) for n in notes60]
    changed[5]["text"] = "患者无明显不适，有腹痛。"
    write_notes(source, changed)
    assert etl(local, "run", "--input", str(source)).exit_code == EXIT_OK
    assert etl(on_ray, *RAY, "run", "--input", str(source), "--engine", "ray").exit_code == EXIT_OK
    assert last_report(ray_dir)["documents_extracted"] == 1
    assert counts(last_report(ray_dir)) == counts(last_report(local_dir))
    assert same_graph(snapshot(on_ray), snapshot(local))


def test_ray_engine_quarantines_bad_rows_as_a_local_run(tmp_path, models, notes60, ray_cluster):
    (local_dir, local), (ray_dir, on_ray) = both(tmp_path, models)
    rows = with_bad_rows(notes60[:3])
    source = write_notes(tmp_path / "bad.parquet", rows)
    assert etl(local, "run", "--input", str(source)).exit_code == EXIT_PARTIAL
    result = etl(on_ray, "run", "--input", str(source), "--engine", "ray")  # one actor (the default)
    assert result.exit_code == EXIT_PARTIAL, result.output
    local_report, ray_report = last_report(local_dir), last_report(ray_dir)
    assert counts(ray_report) == counts(local_report)
    assert ray_report["documents_quarantined"] == 5 and ray_report["documents_extracted"] == 3

    def lines(report):
        return sorted(json.dumps({k: v for k, v in json.loads(line).items() if k != "run_id"}, sort_keys=True)
                      for line in open(report["quarantine_file"], encoding="utf-8"))
    assert lines(ray_report) == lines(local_report)
    assert same_graph(snapshot(on_ray), snapshot(local))


def test_ray_engine_checks_columns_before_any_work(tmp_path, models, notes60, ray_cluster):
    (_, _), (ray_dir, on_ray) = both(tmp_path, models)
    source = write_notes(tmp_path / "notes.parquet", notes60[:2])
    result = etl(on_ray, "--set", "input.text_column=body", "run", "--input", str(source), "--engine", "ray")
    assert result.exit_code == 1 and "missing column" in result.output
    assert not (ray_dir / "graph").exists()


def test_unreachable_ray_address_stops_the_run_with_exit_1_instead_of_hanging(tmp_path, models, notes60):
    """Nothing listening (127.0.0.1:1), and a port that accepts connections but is no Ray head:
    ray.init alone retried for many minutes (a nightly cron run hung). Each run must end within
    ray.connect_timeout with exit 1, one line naming the address and the setting, no traceback,
    and nothing done (no lock, no store). Real processes: the test session's Ray must not be joined."""
    source = write_notes(tmp_path / "notes.parquet", notes60[:2])
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts, never speaks
    children, folders = {}, []
    for n, address in enumerate(("127.0.0.1:1", f"127.0.0.1:{silent.getsockname()[1]}")):
        folders.append(tmp_path / f"run{n}")
        folders[-1].mkdir()
        command = [sys.executable, "-m", "etl.cli", "--config", str(settings_file(folders[-1], models)),
                   "--set", "ray.connect_timeout=3",
                   "run", "--input", str(source), "--engine", "ray", "--ray-address", address]
        children[address] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for address, child in children.items():
            out, err = child.communicate(timeout=120)  # before the fix: still inside ray.init
            assert child.returncode == 1, out + err
            lines = [line for line in err.splitlines() if line.startswith("error:")]
            assert len(lines) == 1 and address in lines[0], err
            assert "ray.address" in lines[0] and "--ray-address" in lines[0], err
            assert "Traceback" not in err + out, err
    finally:
        silent.close()
        for child in children.values():
            child.kill()
    for folder in folders:
        assert not (folder / "graph").exists() and not list((folder / "reports").glob("*.lock"))


def test_model_actor_killed_mid_run_the_run_completes_with_the_local_graph(tmp_path, models, notes60, ray_cluster):
    """ray.kill on a model actor while the run is extracting (the default no_restart=True: the actor
    is gone for good): its batches not written yet go to a new actor, so the run completes (exit 0)
    with the local run's graph and counts, and says so."""
    (local_dir, local), (ray_dir, on_ray) = both(tmp_path, models)
    source = write_notes(tmp_path / "notes.parquet", notes60[:32])
    assert etl(local, "run", "--input", str(source)).exit_code == EXIT_OK
    with killing_model_actors(ray_cluster, most=1, states=("ALIVE",)) as killed:
        result = etl(on_ray, *RAY, "run", "--input", str(source), "--engine", "ray")
    assert killed, "no model actor was alive during the run"
    assert result.exit_code == EXIT_OK, result.output
    report = last_report(ray_dir)
    assert any("Ray model actor died" in w for w in report["warnings"]), report["warnings"]
    assert report["runtime"]["ray"]["actors_started"] == 3  # the two of the run and the dead one's successor
    assert counts(report) == counts(last_report(local_dir))
    assert same_graph(snapshot(on_ray), snapshot(local))


def test_model_actors_dying_again_and_again_stop_with_exit_3_and_a_rerun_completes(tmp_path, models, notes60,
                                                                                    ray_cluster):
    """Every model actor killed as soon as it exists (a cluster losing node after node): after
    ACTOR_FAILURES_RETRIED replacements the run stops with exit 3 and one clear error line, releases
    its lock, and a rerun on a healthy cluster completes with the local run's graph (the ledger:
    nothing written twice, nothing missing)."""
    from etl.run.ray_engine import ACTOR_FAILURES_RETRIED

    (local_dir, local), (ray_dir, on_ray) = both(tmp_path, models)
    source = write_notes(tmp_path / "notes.parquet", notes60[:24])
    assert etl(local, "run", "--input", str(source)).exit_code == EXIT_OK
    with killing_model_actors(ray_cluster, states=("DEPENDENCIES_UNREADY", "PENDING_CREATION", "ALIVE", "RESTARTING")):
        result = etl(on_ray, *RAY, "run", "--input", str(source), "--engine", "ray")
    assert result.exit_code == EXIT_SINK, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"died {ACTOR_FAILURES_RETRIED + 1} times" in errors[0], result.output
    assert "rerun to resume" in errors[0] and "Traceback" not in result.output
    report = last_report(ray_dir)
    assert report["exit_code"] == EXIT_SINK
    assert report["runtime"]["ray"]["actors_started"] == 2 + ACTOR_FAILURES_RETRIED

    rerun = etl(on_ray, *RAY, "run", "--input", str(source), "--engine", "ray")
    assert rerun.exit_code == EXIT_OK, rerun.output  # not EXIT_LOCKED: the failed run released its lock
    assert same_graph(snapshot(on_ray), snapshot(local))
