"""`etl doctor` on a healthy set-up and on broken ones: documented exit codes (0 no failed check,
1 any failed check) and a fix hint on every failed check. Tiny model folders (hidden 32, 2 layers)
are built once per module; the graph store is a private FalkorDB in a temporary folder."""
from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.doctor import check_gpu, check_packages, read_pins, schema_gaps
from tiny_models import relation_folder, spans_folder


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def setup(tmp_path_factory, vocab_path, cmeie_samples, schema):
    """A healthy set-up: models, an initialised private FalkorDB, an input file, a config."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from etl.graph.falkordb.settings import FalkorDBSettings
    from etl.graph.falkordb.sink import FalkorDBSink

    root = tmp_path_factory.mktemp("doctor")
    samples = [s for s in cmeie_samples if len(s.text) < 60][:6]
    relation_folder(root / "models" / "relation", vocab_path, [s.text for s in samples], schema)
    spans_folder(root / "models" / "spans", vocab_path, samples)
    with FalkorDBSink(schema, FalkorDBSettings(data_dir=root / "falkordb"), 100) as sink:
        sink.init_schema()
    (root / "input").mkdir()
    pq.write_table(pa.table({"doc_id": ["a", "b"], "text": [samples[0].text, samples[1].text],
                             "section": ["x", "y"]}), root / "input" / "notes.parquet")
    config = root / "config.toml"
    config.write_text("""
[relation]
model_dir = "models/relation"
[spans]
model_dir = "models/spans"
[graph]
sink = "falkordb"
[graph.falkordb]
data_dir = "falkordb"
[run]
reports_dir = "var/reports"
quarantine_dir = "var/quarantine"
[runtime]
device = "cpu"
""", encoding="utf-8")
    return root


def doctor(setup: Path, *args: str, env: dict | None = None):
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(setup / "config.toml"), "doctor", "--json", *args],
                           env=env, catch_exceptions=False)
    report = json.loads(result.stdout)
    assert report["exit_code"] == result.exit_code
    return result.exit_code, {c["name"]: c for c in report["checks"]}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_only_failure(checks: dict, name: str, hint: str) -> None:
    failed = [n for n, c in checks.items() if c["status"] == "fail"]
    assert failed == [name], failed
    assert hint in checks[name]["hint"], checks[name]


def test_healthy_setup_exits_0(setup):
    code, checks = doctor(setup, "--input", str(setup / "input"))
    assert code == 0, checks
    assert {c["status"] for c in checks.values()} == {"ok"}, checks
    assert checks["relation model"]["detail"].startswith("relation-")
    assert checks["spans model"]["detail"].startswith("spans-")
    assert "19 constraints/indexes in place" in checks["graph schema"]["detail"]
    assert "1 Parquet file(s), 2 rows" in checks["input"]["detail"]
    text = CliRunner().invoke(cli, ["--config", str(setup / "config.toml"), "doctor"])
    assert text.exit_code == 0 and "0 failed, 0 warnings: ready (exit 0)" in text.output


def test_missing_model_folder_exits_1_with_a_training_hint(setup):
    code, checks = doctor(setup, env={"ETL_SPANS_MODEL_DIR": str(setup / "models" / "nope")})
    assert code == 1
    _assert_only_failure(checks, "spans model", "etl train spans")
    assert "not found" in checks["spans model"]["detail"]


def test_a_missing_surgery_normaliser_is_its_own_failure(setup):
    """The second normaliser folder is checked under its own name, its hint naming its setting and
    the command that builds it; turned off, it is not checked."""
    code, checks = doctor(setup, env={"ETL_NORMALIZER_SURGERY_MODEL_DIR": str(setup / "models" / "nope")})
    assert code == 1
    _assert_only_failure(checks, "normalizer surgery model", "etl train normalizer --surgery")
    assert "normalizer.surgery.model_dir" in checks["normalizer surgery model"]["hint"]
    assert checks["normalizer model"]["status"] == "ok"
    code, checks = doctor(setup, env={"ETL_NORMALIZER_SURGERY_MODEL_DIR": str(setup / "models" / "nope"),
                                      "ETL_NORMALIZER_SURGERY_ENABLED": "false"})
    assert code == 0 and "normalizer surgery model" not in checks


def test_unreachable_neo4j_exits_1_with_a_hint(setup):
    env = {"ETL_GRAPH_SINK": "neo4j", "ETL_GRAPH_NEO4J_URI": f"bolt://127.0.0.1:{_closed_port()}",
           "NEO4J_PASSWORD": "unused"}
    code, checks = doctor(setup, env=env)
    assert code == 1
    _assert_only_failure(checks, "graph", "docker compose up -d neo4j")
    assert "cannot reach Neo4j" in checks["graph"]["detail"]
    assert checks["graph schema"]["status"] == "skip"


def test_unreachable_falkordb_url_exits_1(setup):
    code, checks = doctor(setup, env={"ETL_GRAPH_FALKORDB_URL": f"redis://127.0.0.1:{_closed_port()}"})
    assert code == 1
    _assert_only_failure(checks, "graph", "graph.falkordb.url")


def test_vocab_that_does_not_match_the_encoder_fails(setup, tmp_path):
    folder = tmp_path / "relation"
    shutil.copytree(setup / "models" / "relation", folder)
    with open(folder / "vocab.txt", "a", encoding="utf-8") as handle:
        handle.write("多余\n")
    code, checks = doctor(setup, env={"ETL_RELATION_MODEL_DIR": str(folder)})
    assert code == 1
    assert checks["relation vocab"]["status"] == "fail" and "vocab_size" in checks["relation vocab"]["detail"]
    assert checks["relation model"]["status"] == "fail"


def test_weights_replaced_by_hand_fail_the_version_check(setup, tmp_path):
    folder = tmp_path / "relation"
    shutil.copytree(setup / "models" / "relation", folder)
    (folder / "version.txt").write_text("relation-000000000000\n", encoding="utf-8")
    code, checks = doctor(setup, env={"ETL_RELATION_MODEL_DIR": str(folder)})
    assert code == 1
    _assert_only_failure(checks, "relation model", "etl train relation")
    assert "version.txt says relation-000000000000" in checks["relation model"]["detail"]


def test_unreadable_input_gpu_required_and_full_disk_fail(setup):
    code, checks = doctor(setup, "--input", str(setup / "missing"), "--min-free-mb", str(10 ** 9),
                          env={"ETL_RUNTIME_DEVICE": "gpu"})
    assert code == 1
    failed = {n for n, c in checks.items() if c["status"] == "fail"}
    if not checks["gpu"]["detail"].startswith("runtime.device = gpu"):  # pragma: no cover - GPU machine
        failed.add("gpu")
    assert failed == {"input", "gpu", "disk reports", "disk quarantine"}
    assert "input.id_column" in checks["input"]["hint"] and "runtime.device = auto" in checks["gpu"]["hint"]


def test_bad_settings_are_a_failed_check(setup):
    code, checks = doctor(setup, env={"ETL_RUNTIME_DEVICE": "tpu"})
    assert code == 1 and checks["settings"]["status"] == "fail"
    assert "runtime.device must be one of" in checks["settings"]["detail"]


# --------------------------------------------------------------------------- units
def test_schema_gaps_reads_neo4j_and_falkordb_shapes():
    from etl.graph.statements import IndexSpec

    specs = [IndexSpec("Disease", "name", True), IndexSpec("Entity", "name", False),
             IndexSpec("Run", "run_id", True)]
    assert schema_gaps(specs, {("Disease", "name"), ("Run", "run_id")}, {("Entity", "name")}) == []
    assert schema_gaps(specs, {("Disease", "name")}, {("Run", "run_id")}) == ["index Entity.name", "unique Run.run_id"]


def test_gpu_check_statuses():
    none_cpu_build = lambda: ([], False)  # noqa: E731
    assert check_gpu("auto", none_cpu_build).status == "warn"
    assert "tensorflow[and-cuda]" in check_gpu("auto", none_cpu_build).hint
    assert check_gpu("cpu", none_cpu_build).status == "ok"
    assert check_gpu("gpu", none_cpu_build).status == "fail"
    assert check_gpu("auto", lambda: (["/physical_device:GPU:0"], True)).status == "ok"


def test_pins_accept_the_gpu_tensorflow_build(tmp_path, monkeypatch):
    (tmp_path / "requirements.txt").write_text("# c\ntensorflow-cpu==2.21.0\nclick==8.5.1 ; python_version>'3'\n")
    assert read_pins(tmp_path) == {"tensorflow-cpu": "2.21.0", "click": "8.5.1"}
    versions = {"tensorflow": "2.21.0", "click": "8.5.1"}

    def fake_version(name):
        if name not in versions:
            raise __import__("importlib").metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr("etl.doctor.metadata.version", fake_version)
    assert check_packages(tmp_path).status == "ok"
    versions["click"] = "8.0.0"
    result = check_packages(tmp_path)
    assert result.status == "fail" and "click 8.0.0 (pinned 8.5.1)" in result.detail and "make venv" in result.hint


def test_input_column_types_and_decoding_are_checked_on_a_sample(setup, tmp_path):
    """issue 17: `etl doctor --input` passed a text column of the wrong type or undecodable text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def run(table):
        pq.write_table(table, tmp_path / "in.parquet")
        return doctor(setup, "--input", str(tmp_path / "in.parquet"))

    code, checks = run(pa.table({"doc_id": ["a"], "text": [42], "section": ["x"]}))
    assert code == 1 and checks["input columns"]["status"] == "fail"
    assert "text column 'text' is int64" in checks["input columns"]["detail"]
    undecodable = pa.array([b"\xff\xfe", b"\xc3"], pa.binary()).view(pa.string())
    code, checks = run(pa.table({"doc_id": ["a", "b"], "text": undecodable, "section": ["x", "y"]}))
    assert code == 1 and checks["input sample"]["status"] == "fail"
    assert "undecodable_text 2" in checks["input sample"]["detail"]
    code, checks = run(pa.table({"doc_id": ["a", " b ", "c\x01"], "text": ["发热。", "咳嗽。", "头痛。"]}))
    assert checks["input sample"]["status"] == "warn" and "invalid_id 1" in checks["input sample"]["detail"]
    assert checks["input columns"]["status"] == "ok"  # warnings only: the input does not fail the doctor
    assert checks["input"]["status"] == "warn" and "section" in checks["input"]["detail"]  # metadata missing
