"""End to end: `etl run` over real shared notes with the shipped (small, real) demo models into a
real embedded FalkorDB started by the run itself."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.errors import EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL, EXIT_SINK, EXIT_USAGE


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
INTERNAL_TYPES = {"HAS_EVIDENCE", "SUBJECT", "OBJECT"}
RUN_PROPS = {"run_id", "first_run", "last_run", "first_run_id", "last_run_id"}


@pytest.fixture(scope="module")
def notes(shared_data):
    """24 real notes with several windows each (the longer sections), as a small Parquet table."""
    table = pq.read_table(shared_data / "notes" / "ccks2017_notes.parquet")
    rows = [r for r in table.to_pylist() if 250 <= len(r["text"]) <= 600][:24]
    return rows


def write_notes(path: Path, rows) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def settings_file(tmp: Path, models) -> Path:
    path = tmp / "config.toml"
    path.write_text(f"""
[relation]
model_dir = "{models['relation']}"
[spans]
model_dir = "{models['spans']}"
[assertion]
model_dir = "{models['assertion']}"
[normalizer]
model_dir = "{models['normalizer']}"
[graph]
batch_size = 50
write_triples = 3
[graph.falkordb]
data_dir = "{tmp / 'graph'}"
[run]
reports_dir = "{tmp / 'reports'}"
quarantine_dir = "{tmp / 'quarantine'}"
[input]
read_batch_rows = 4
""", encoding="utf-8")
    return path


def etl(config: Path, *args: str):
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def last_report(tmp: Path) -> dict:
    reports = sorted((tmp / "reports").glob("run-*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(reports[-1].read_text(encoding="utf-8"))


def snapshot(config: Path) -> dict:
    """The graph as comparable data: entities, typed edges with aggregates, evidence, documents
    (run ids left out: they differ between runs by design)."""
    from etl.config import load_settings
    from etl.graph import open_sink

    settings = load_settings(config, environ={})
    with open_sink(settings.graph) as sink:
        def rows(query):
            out = []
            for row in sink.query(query):
                out.append(json.dumps({k: ({p: v for p, v in val.items() if p not in RUN_PROPS}
                                           if isinstance(val, dict) else val) for k, val in row.items()},
                                      sort_keys=True, ensure_ascii=False))
            return sorted(out)

        return {
            "entities": rows("MATCH (n:Entity) RETURN labels(n) AS labels, properties(n) AS p"),
            "edges": rows("MATCH (a:Entity)-[r]->(b:Entity) RETURN a.name AS a, type(r) AS t, b.name AS b, "
                          "properties(r) AS p"),
            "evidence": rows("MATCH (d:Document)-[:HAS_EVIDENCE]->(e:Evidence) RETURN d.doc_id AS doc, "
                             "properties(e) AS p"),
            "documents": rows("MATCH (d:Document) RETURN properties(d) AS p"),
            "concepts": rows("MATCH (e:Entity)-[r:NORMALIZED_TO]->(k:Concept) RETURN e.name AS e, "
                             "properties(r) AS r, properties(k) AS k"),
        }


def test_run_fills_the_graph_matching_the_triples_file_then_skips_everything(tmp_path, models, notes):
    config = settings_file(tmp_path, models)
    source = write_notes(tmp_path / "notes.parquet", notes)
    first = etl(config, "run", "--input", str(source), "--triples-out", str(tmp_path / "t.parquet"))
    assert first.exit_code == EXIT_OK, first.output
    report = last_report(tmp_path)
    assert report["rows_read"] == report["documents_extracted"] == len(notes)
    assert report["windows"] > len(notes)  # long notes were cut into several windows
    assert report["triples"] > 0 and sum(report["triples_by_predicate"].values()) == report["triples"]
    assert report["model_versions"]["relation"].startswith("relation-")

    triples = pq.read_table(tmp_path / "t.parquet").to_pylist()
    assert len(triples) == report["triples"]
    graph = snapshot(config)
    assert len(graph["evidence"]) == len(triples)
    assert len(graph["documents"]) == len(notes)
    evidence_keys = {json.loads(e)["p"]["key"] for e in graph["evidence"]}
    assert evidence_keys == {t["evidence_key"] for t in triples}
    by_doc = {n["doc_id"]: n["text"] for n in notes}
    for t in triples:  # offsets slice the original note
        assert by_doc[t["doc_id"]][t["subject_start"]:t["subject_end"]] == t["subject_surface"]
        assert by_doc[t["doc_id"]][t["object_start"]:t["object_end"]] == t["object_surface"]
    edges = {(json.loads(e)["a"], json.loads(e)["t"], json.loads(e)["b"]) for e in graph["edges"]}
    asserted = [t for t in triples if t["subject_assertion"] == t["object_assertion"] == "present"]
    assert edges == {(t["subject"], t["rel_type"], t["object"]) for t in asserted}
    assert (report["triples_asserted"] == len(asserted)
            and report["model_versions"]["assertion"].startswith("assertion-"))
    # Writes gathered to graph.write_triples (3 here) evidence rows: each write but the last holds
    # at least that many (tests/run/test_driver.py checks the gathering row by row).
    assert 1 <= report["graph_writes"] <= report["triples"] // 3 + 1
    # Then every Disease entity was normalised once (etl/normalize.py), most given a concept, and
    # every Surgery entity by the surgery folder (ICD-9-CM-3).
    def named(label):
        return {json.loads(e)["p"]["name"] for e in graph["entities"] if label in json.loads(e)["labels"]}

    diseases, operations = named("Disease"), named("Surgery")
    links = [json.loads(c) for c in graph["concepts"]]
    by_label = report["normalization"]["by_label"]
    assert by_label["Disease"]["entities"] == len(diseases) > 0
    assert report["normalization"]["entities"] == len(diseases) + len(operations)
    assert {c["e"] for c in links} <= diseases | operations
    disease_links = [c for c in links if c["e"] in diseases]
    assert by_label["Disease"]["linked"] == len({c["e"] for c in disease_links}) > len(diseases) / 2
    assert {c["r"]["model"] for c in disease_links} == {report["model_versions"]["normalizer"]}
    assert {c["k"]["system"] for c in disease_links} <= {"ICD-10-BJ-6.01", "CHIP-CDN"}
    surgery_links = [c for c in links if c["e"] in operations]
    assert by_label.get("Surgery", {"linked": 0})["linked"] == len({c["e"] for c in surgery_links})
    assert {(c["r"]["model"], c["k"]["system"]) for c in surgery_links} <= {
        (report["model_versions"]["normalizer_surgery"], "ICD-9-CM-3")}

    second = etl(config, "run", "--input", str(source))
    assert second.exit_code == EXIT_OK, second.output
    report = last_report(tmp_path)
    assert report["documents_skipped"] == len(notes) and report["documents_extracted"] == 0
    assert report["normalization"]["entities"] == 0  # nothing new to normalise
    assert snapshot(config) == graph

    # --full ignores the ledger, and re-writing the same evidence changes nothing, in one write
    # when everything fits in one.
    assert etl(config, "--set", "graph.write_triples=1000000", "run", "--input", str(source),
               "--full").exit_code == EXIT_OK
    assert last_report(tmp_path)["documents_extracted"] == len(notes)
    assert last_report(tmp_path)["graph_writes"] == 1
    assert snapshot(config) == graph


def test_denied_finding_is_kept_as_evidence_without_a_typed_edge_until_a_note_asserts_it(tmp_path, models):
    """无恶心 writes an absent object and no HAS_SYMPTOM to 恶心; a note asserting 恶心 creates it.
    (The shipped relation and span models find 胃炎 -临床表现-> 恶心, 呕吐, 腹痛 in both notes.)"""
    config = settings_file(tmp_path, models)
    denied = {"doc_id": "denied", "section": "病史特点", "text": "胃炎@患者无恶心、呕吐，有腹痛。"}
    asserted = {"doc_id": "asserted", "section": "病史特点", "text": "胃炎@患者有恶心、呕吐，腹痛。"}
    source = write_notes(tmp_path / "notes.parquet", [denied])
    result = etl(config, "run", "--input", str(source), "--triples-out", str(tmp_path / "t.parquet"))
    assert result.exit_code == EXIT_OK, result.output
    triples = pq.read_table(tmp_path / "t.parquet").to_pylist()
    status = {t["object"]: (t["subject_assertion"], t["object_assertion"]) for t in triples}
    assert status == {"恶心": ("present", "absent"), "呕吐": ("present", "absent"), "腹痛": ("present", "present")}

    def edges():
        return {row["o"]: row for row in snapshot_query(config, (
            "MATCH (:Disease {name: '胃炎'})-[r:HAS_SYMPTOM]->(s) RETURN s.name AS o, r.evidence_count AS n, "
            "r.absent_count AS absent"))}
    assert set(edges()) == {"腹痛"}
    evidence = snapshot_query(config, "MATCH (:Document {doc_id: 'denied'})-[:HAS_EVIDENCE]->(e)-[:OBJECT]->(o) "
                                      "RETURN o.name AS o, e.object_assertion AS a")
    assert sorted((r["o"], r["a"]) for r in evidence) == [("呕吐", "absent"), ("恶心", "absent"), ("腹痛", "present")]
    graph = snapshot(config)
    assert etl(config, "run", "--input", str(source), "--full").exit_code == EXIT_OK
    assert snapshot(config) == graph  # re-judging the same note changes nothing

    write_notes(source, [denied, asserted])
    assert etl(config, "run", "--input", str(source)).exit_code == EXIT_OK
    now = edges()
    assert set(now) == {"腹痛", "恶心", "呕吐"}
    assert (now["恶心"]["n"], now["恶心"]["absent"]) == (1, 1)  # asserted once, denied once
    assert (now["腹痛"]["n"], now["腹痛"]["absent"]) == (2, 0)


ADMISSION_NOTE = ("患者于2013-01-20无明显诱因出现血便，鲜红色，量少，大便次数稍增多，无发热、黄疸。"
                  "在外院行肠镜检查示：距肛30CM环肠周肿物，病理结果为：乙状结肠高分化腺癌。"
                  "门诊以“乙状结肠腺癌”收入结直肠科。于2013-02-04在全麻上行乙状结肠癌切除术，"
                  "术后给予XELOX方案化疗1程顺利。")


def test_an_admission_note_gets_its_main_condition_and_a_denied_finding_no_typed_edge(tmp_path, models):
    """Issue 27: the diagnosis named once (门诊以“乙状结肠腺癌”收入) is the subject of the operation
    told a sentence later, from the shipped models through `etl run` into the graph; the denied
    发热 and 黄疸 (无发热、黄疸) make no typed edge."""
    config = settings_file(tmp_path, models)
    source = write_notes(tmp_path / "notes.parquet", [{"doc_id": "n1", "section": "病史特点", "text": ADMISSION_NOTE}])
    result = etl(config, "run", "--input", str(source), "--triples-out", str(tmp_path / "t.parquet"))
    assert result.exit_code == EXIT_OK, result.output
    assert last_report(tmp_path)["main_conditions"] == 1
    triples = pq.read_table(tmp_path / "t.parquet").to_pylist()
    asserted = {(t["subject"], t["predicate"], t["object"]) for t in triples
                if t["subject_assertion"] == t["object_assertion"] == "present"}
    assert ("乙状结肠腺癌", "手术治疗", "乙状结肠癌切除术") in asserted
    surgery = [t for t in triples if t["object"] == "乙状结肠癌切除术" and t["subject"] == "乙状结肠腺癌"]
    at = ADMISSION_NOTE.index("乙状结肠腺癌")  # the subject's place is the admission statement's
    assert [(t["subject_start"], t["subject_end"]) for t in surgery] == [(at, at + 6)]
    edges = snapshot_query(config, "MATCH (:Disease {name: '乙状结肠腺癌'})-[r:TREATED_WITH_SURGERY]->(s) "
                                   "RETURN s.name AS o")
    assert {row["o"] for row in edges} == {"乙状结肠癌切除术"}
    typed = {row["o"] for row in snapshot_query(config, "MATCH (:Entity)-[r]->(o:Entity) WHERE NOT type(r) IN "
                                                        "['HAS_EVIDENCE', 'SUBJECT', 'OBJECT'] RETURN o.name AS o")}
    assert not typed & {"发热", "黄疸"}
    for t in triples:  # where the models found a denied finding, it is evidence judged absent
        if t["object"] in ("发热", "黄疸"):
            assert t["object_assertion"] == "absent"


def snapshot_query(config: Path, query: str) -> list[dict]:
    from etl.config import load_settings
    from etl.graph import open_sink

    with open_sink(load_settings(config, environ={}).graph) as sink:
        return sink.query(query)


def test_changed_document_replaces_only_its_evidence(tmp_path, models, notes):
    config = settings_file(tmp_path, models)
    source = write_notes(tmp_path / "notes.parquet", notes)
    assert etl(config, "run", "--input", str(source)).exit_code == EXIT_OK
    before = snapshot(config)
    changed = [dict(n) for n in notes]
    target = changed[3]["doc_id"]
    changed[3]["text"] = "患者无明显不适。"  # evidence of this note must go away
    write_notes(source, changed)
    assert etl(config, "run", "--input", str(source)).exit_code == EXIT_OK
    report = last_report(tmp_path)
    assert report["documents_extracted"] == 1 and report["documents_skipped"] == len(notes) - 1
    after = snapshot(config)
    kept = [e for e in before["evidence"] if json.loads(e)["doc"] != target]
    assert [e for e in after["evidence"] if json.loads(e)["doc"] != target] == kept
    assert len(after["evidence"]) == len(kept) + sum(json.loads(e)["doc"] == target for e in after["evidence"])

    # The same graph as a clean run over the changed input.
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean = settings_file(clean_dir, models)
    assert etl(clean, "run", "--input", str(source)).exit_code == EXIT_OK
    assert snapshot(clean) == after


def test_killed_run_resumed_equals_clean_run(tmp_path, models, notes):
    source = write_notes(tmp_path / "notes.parquet", notes)
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    clean_dir.mkdir()
    killed_dir.mkdir()
    clean, killed = settings_file(clean_dir, models), settings_file(killed_dir, models)
    assert etl(clean, "run", "--input", str(source)).exit_code == EXIT_OK
    expected = snapshot(clean)

    # Kill a run (SIGKILL: no clean-up at all) once it has written part of the input.
    triples = killed_dir / "t.parquet"
    command = [sys.executable, "-m", "etl.cli", "--config", str(killed), "run", "--input", str(source),
               "--triples-out", str(triples)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
    graph_dir = killed_dir / "graph"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if any(graph_dir.rglob("*.aof")) and sum(f.stat().st_size for f in graph_dir.rglob("*.aof")) > 20_000:
            break  # the store has received some writes
        time.sleep(0.05)
    socket_dir = Path(json.loads((graph_dir / "falkordb.lock").read_text())["socket"]).parent
    child.send_signal(signal.SIGKILL)
    child.wait()
    time.sleep(1.0)  # the private server follows its parent down
    # issue 17: the triples file was left unreadable; now only a hidden part file is left
    assert not triples.exists() and [p.name for p in killed_dir.glob(".t.parquet.part-*")]
    assert socket_dir.is_dir()  # nothing ran to remove it...

    resumed = etl(killed, "run", "--input", str(source), "--triples-out", str(triples))
    assert resumed.exit_code == EXIT_OK, resumed.output
    assert snapshot(killed) == expected
    assert not socket_dir.exists()  # ... the next start did
    report = last_report(killed_dir)
    assert not list(killed_dir.glob(".t.parquet.part-*"))  # a whole, readable file in its place:
    assert pq.read_table(triples).num_rows == report["triples"]  # what the resuming run wrote
    assert len(report["stale_runs_closed"]) == 1  # the killed run's Run node, left `running`
    assert run_statuses(killed) == {report["stale_runs_closed"][0]: "failed", report["run_id"]: "ok"}


def run_statuses(config: Path) -> dict:
    from etl.config import load_settings
    from etl.graph import open_sink

    with open_sink(load_settings(config, environ={}).graph) as sink:
        return {r["id"]: r["status"] for r in sink.query("MATCH (r:Run) RETURN r.run_id AS id, r.status AS status")}


def test_sigint_to_the_process_group_and_sigterm_close_the_run(tmp_path, models, shared_data):
    """issue 17: a real Ctrl-C (SIGINT to the whole process group, the private server included)
    left the Run node `running`, the triples file unreadable and a temporary folder behind; SIGTERM
    ended etl without any clean-up. TensorFlow's start-up lines must not reach stderr either."""
    config = settings_file(tmp_path, models)
    # Far more notes than the run needs before it is interrupted (the whole file, three times
    # under new ids), so the signal, sent once the store has grown ~20 KB, always lands mid-run.
    notes = pq.read_table(shared_data / "notes" / "ccks2017_notes.parquet").to_pylist()
    rows = [{**row, "doc_id": f"{row['doc_id']}-{copy}"} for copy in range(3) for row in notes]
    source = write_notes(tmp_path / "notes.parquet", rows)
    graph_dir = tmp_path / "graph"
    for how in ("SIGINT to the group", "SIGTERM"):
        triples = tmp_path / f"t-{how[:6]}.parquet"
        command = [sys.executable, "-m", "etl.cli", "--config", str(config), "run", "--input", str(source),
                   "--full", "--triples-out", str(triples)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True,  # its own group, as a terminal gives it
                                 # and Ctrl-C's default action, as a terminal's foreground job has:
                                 # under a non-interactive `cmd &` (a CI runner) SIGINT is inherited
                                 # ignored, and Python then keeps ignoring it (etl rightly too)
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"})
        deadline = time.monotonic() + 180

        def size():
            return sum(f.stat().st_size for f in graph_dir.rglob("*.aof")) if graph_dir.exists() else 0

        start = None
        while time.monotonic() < deadline and child.poll() is None:
            if (graph_dir / "falkordb.lock").exists() and (start := start or size()) and size() > start + 20_000:
                break  # this run has written some batches
            time.sleep(0.05)
        assert child.poll() is None, "the run ended before it could be interrupted"
        socket_dir = Path(json.loads((graph_dir / "falkordb.lock").read_text())["socket"]).parent
        if how == "SIGTERM":
            child.send_signal(signal.SIGTERM)
        else:
            os.killpg(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=120)
        assert child.returncode == 130, out + err
        report = last_report(tmp_path)
        assert report["exit_code"] == 130 and report["error"] in ("interrupted", "terminated (SIGTERM)")
        assert run_statuses(config)[report["run_id"]] == "failed"
        assert not socket_dir.exists() and not triples.exists() and not list(tmp_path.glob(".t-*.part-*"))
        assert "absl" not in err and "cpu_feature_guard" not in err and "oneDNN" not in err, err
    assert "running" not in run_statuses(config).values()


def with_bad_rows(good: list[dict]) -> list[dict]:
    """`good` followed by one row of each reason to quarantine (five rows)."""
    return good + [
        {"doc_id": "null", "section": "x", "text": None},
        {"doc_id": "empty", "section": "x", "text": "  "},
        {"doc_id": good[0]["doc_id"], "section": "x", "text": "重复编号。"},
        {"doc_id": "long", "section": "x", "text": "长" * 300_000},
        {"doc_id": None, "section": "x", "text": "没有编号。"},
    ]


def test_bad_rows_are_quarantined_with_reasons_and_exit_2(tmp_path, models, notes):
    config = settings_file(tmp_path, models)
    rows = with_bad_rows(notes[:2])
    source = write_notes(tmp_path / "bad.parquet", rows)
    result = etl(config, "run", "--input", str(source))
    assert result.exit_code == EXIT_PARTIAL, result.output
    report = last_report(tmp_path)
    assert report["rows_read"] == len(rows)
    assert report["documents_extracted"] == 2 and report["documents_quarantined"] == 5
    assert report["quarantine_by_reason"] == {"null_text": 1, "empty_text": 1, "duplicate_id": 1,
                                              "text_too_long": 1, "missing_id": 1}
    lines = [json.loads(line) for line in Path(report["quarantine_file"]).read_text(encoding="utf-8").splitlines()]
    assert sorted(line["reason"] for line in lines) == sorted(report["quarantine_by_reason"])
    assert all(line["detail"] and line["source"].endswith("bad.parquet") for line in lines)
    # undecodable and non-string text in a second file
    pq.write_table(pa.table({"doc_id": ["b1", "b2"], "section": ["x", "x"],
                             "text": pa.array([b"\xff\xfe", "正常。".encode()], type=pa.binary())}),
                   tmp_path / "binary.parquet")
    result = etl(config, "run", "--input", str(tmp_path / "binary.parquet"))
    assert result.exit_code == EXIT_PARTIAL
    assert last_report(tmp_path)["quarantine_by_reason"] == {"undecodable_text": 1}


def test_errors_before_work_starts_exit_1(tmp_path, models, notes):
    config = settings_file(tmp_path, models)
    source = write_notes(tmp_path / "notes.parquet", notes[:2])
    assert etl(config, "run", "--input", str(tmp_path / "missing.parquet")).exit_code == EXIT_USAGE
    (tmp_path / "broken.parquet").write_bytes(b"PAR1garbage")
    assert etl(config, "run", "--input", str(tmp_path / "broken.parquet")).exit_code == EXIT_USAGE
    missing_column = etl(config, "--set", "input.text_column=body", "run", "--input", str(source))
    assert missing_column.exit_code == EXIT_USAGE and "missing column" in missing_column.output
    report = last_report(tmp_path)  # issue 17: exit 1 used to leave no report
    assert report["exit_code"] == EXIT_USAGE and "missing column(s) body" in report["error"]
    no_model = etl(config, "run", "--input", str(source), "--relation-model", str(tmp_path / "none"))
    assert no_model.exit_code == EXIT_USAGE and "relation model folder not found" in no_model.output
    no_surgery = etl(config, "--set", f"normalizer.surgery.model_dir={tmp_path / 'none'}", "run", "--input",
                     str(source))
    assert no_surgery.exit_code == EXIT_USAGE and "normalizer model folder not found" in no_surgery.output
    assert "normalizer.surgery.model_dir, labels Surgery: build it with `etl train normalizer --surgery`" in \
        no_surgery.output
    assert not (tmp_path / "graph").exists()  # nothing was started or written

    # issue 17: an output folder that is a file (or read-only, or full: tests/run/test_run_faults.py)
    # used to be exit 4 "internal error"; now exit 1 naming the setting, with a report if possible
    (tmp_path / "a-file").write_text("")
    for setting, value in (("run.reports_dir", "a-file"), ("run.quarantine_dir", "a-file/q")):
        result = etl(config, "--set", f"{setting}={tmp_path / value}", "run", "--input", str(source))
        assert result.exit_code == EXIT_USAGE and setting in result.output, result.output
    assert last_report(tmp_path)["error"].startswith("run.quarantine_dir = ")
    result = etl(config, "run", "--input", str(source), "--triples-out", str(tmp_path / "a-file" / "t.parquet"))
    assert result.exit_code == EXIT_USAGE and "--triples-out" in result.output

    # issue 30: --triples-out onto the input replaced the notes by the triples (exit 0)
    before = source.read_bytes()
    for option in ("--triples-out", "--report"):
        for sink in ("falkordb", "neo4j"):  # refused before a store is opened (no Neo4j reached)
            result = etl(config, "--set", "graph.neo4j.uri=bolt://127.0.0.1:9", "run", "--input", str(source),
                         option, str(source), "--sink", sink)
            assert result.exit_code == EXIT_USAGE and "is one of the input files" in result.output, result.output
    assert source.read_bytes() == before and not (tmp_path / "graph").exists()


def test_unreachable_store_exits_3_and_lock_exits_5(tmp_path, models, notes):
    config = settings_file(tmp_path, models)
    source = write_notes(tmp_path / "notes.parquet", notes[:2])
    down = etl(config, "--set", "graph.falkordb.url=redis://127.0.0.1:1", "run", "--input", str(source))
    assert down.exit_code == EXIT_SINK, down.output
    assert last_report(tmp_path)["exit_code"] == EXIT_SINK

    from etl.config import load_settings
    from etl.graph import store_target
    from etl.lock import RunLock

    settings = load_settings(config, environ={})
    with RunLock(settings.run.reports_dir, store_target(settings.graph, "falkordb")).acquire("other-run"):
        locked = etl(config, "run", "--input", str(source))
    assert locked.exit_code == EXIT_LOCKED and "other-run" in locked.output
    dry = etl(config, "run", "--input", str(source), "--dry-run")  # a dry run takes no lock, writes nothing
    assert dry.exit_code == EXIT_OK and last_report(tmp_path)["sink"] == "none"


def test_a_corrupt_row_group_is_quarantined_and_the_run_goes_on(tmp_path, models):
    """issue 30: a folder with a good file and one whose last row group is corrupt ended with exit 1
    ("nothing written") after writing the good rows. Now exit 2: its rows are in the quarantine with
    their row numbers, everything else is read and written, and the counts add up."""
    from tests.test_extract import corrupt_last_row_group

    config = settings_file(tmp_path, models)
    folder = tmp_path / "in"
    folder.mkdir()
    write_notes(folder / "a.parquet", [{"doc_id": "a1", "section": "病史特点", "text": "患者腹痛三天。"}])
    corrupt_last_row_group(folder / "b.parquet", 12, 8)
    result = etl(config, "run", "--input", str(folder))
    assert result.exit_code == EXIT_PARTIAL, result.output
    report = last_report(tmp_path)
    assert report["rows_read"] == 13 and report["documents_extracted"] == 9
    assert report["quarantine_by_reason"] == {"unreadable_row": 4}
    lines = [json.loads(line) for line in Path(report["quarantine_file"]).read_text(encoding="utf-8").splitlines()]
    assert [line["row"] for line in lines] == [8, 9, 10, 11]


@pytest.mark.parametrize("damage, file, message", [
    ("truncate weights.h5", "weights.h5", "is not a readable weights file"),
    ("thresholds.json = {", "thresholds.json", "is not readable JSON"),
    ("thresholds.json = {\"临床表现\": \"high\"}", "thresholds.json", "must map labels to numbers from 0 to 1"),
    ("labels.json = []", "labels.json", "must be a non-empty JSON object, got []"),
    ("cut vocab.txt", "vocab.txt", "has 100 lines but encoder_config.json says vocab_size"),
    ("the span model's weights.h5", "weights.h5 + bigrams.txt + thresholds.json", "changed since training"),
    ("the span model's weights.h5, re-versioned", "", "cannot be loaded"),
])
@pytest.mark.parametrize("sink", ["falkordb", "neo4j"])
def test_a_damaged_model_folder_is_exit_1_naming_the_file(tmp_path, models, damage, file, message, sink):
    """issue 30: each of these was exit 4 ("internal error: a bug") with a traceback. The folder is
    checked before any store is opened: the same on both stores (no Neo4j is reached here)."""
    import shutil

    from etl.models.folder import folder_version

    folder = tmp_path / "relation"
    shutil.copytree(models["relation"], folder)
    if damage == "truncate weights.h5":
        data = (folder / "weights.h5").read_bytes()
        (folder / "weights.h5").write_bytes(data[: len(data) // 2])
    elif damage.startswith(("thresholds.json", "labels.json")):
        name, _, text = damage.partition(" = ")
        (folder / name).write_text(text, encoding="utf-8")
    elif damage == "cut vocab.txt":
        lines = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines(keepends=True)
        (folder / "vocab.txt").write_text("".join(lines[:100]), encoding="utf-8")
    else:
        shutil.copy(models["spans"] / "weights.h5", folder / "weights.h5")
        if damage.endswith("re-versioned"):
            (folder / "version.txt").write_text(folder_version("relation", folder) + "\n", encoding="utf-8")
    config = settings_file(tmp_path, {**models, "relation": folder})
    source = write_notes(tmp_path / "notes.parquet", [{"doc_id": "a", "section": "x", "text": "患者腹痛。"}])
    result = etl(config, "--set", "graph.neo4j.uri=bolt://127.0.0.1:9", "run", "--input", str(source), "--sink", sink)
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"relation model folder {folder}: {file}".rstrip() in result.output and message in result.output
    assert "Traceback" not in result.output
    if sink == "falkordb" and "changed since training" not in message:  # predict checks the folder too
        texts = tmp_path / "texts.txt"
        texts.write_text("患者腹痛。\n", encoding="utf-8")
        predicted = etl(config, "predict", "relations", "--input", str(texts), "--model", str(folder))
        assert predicted.exit_code == EXIT_USAGE and message in predicted.output, predicted.output
