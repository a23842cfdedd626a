"""scripts/etl-nightly: dated log and report files, etl's exit code returned unchanged.

Pass-through is tested with a stand-in `etl` (MEDKG_ETL) that behaves like `etl run` at the
edges the wrapper sees (a report in run.reports_dir, an exit code); the wrapper's own failures and
the real `etl` paths use the real command."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etl.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "etl-nightly"
REAL_ETL = Path(sys.executable).with_name("etl")
needs_etl_run = pytest.mark.skipif("run" not in cli.commands, reason="`etl run` is not in this checkout yet")

FAKE_ETL = """#!/usr/bin/env bash
# Stand-in for `etl run --input PATH --report FILE ...`: prints, writes the report, exits $FAKE_CODE.
[ "$1" = run ] && [ "$2" = --input ] && [ "$4" = --report ] || exit 99
echo "fake etl: $*"
echo "fake etl stderr" >&2
[ -n "${FAKE_NO_REPORT:-}" ] || echo '{"run_id": "r1", "exit_code": '"$FAKE_CODE"'}' > "$5"
exit "$FAKE_CODE"
"""


def nightly(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "MEDKG_"))}
    base.update(MEDKG_NIGHTLY_REPORTS=str(tmp_path / "reports"), **env)
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=base,
                          cwd=tmp_path, timeout=300)


def outputs(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    reports = tmp_path / "reports"
    return sorted(reports.glob("etl-*.log")), sorted(reports.glob("etl-*.json"))


@pytest.fixture
def fake_etl(tmp_path):
    path = tmp_path / "fake-etl"
    path.write_text(FAKE_ETL)
    path.chmod(0o755)
    (tmp_path / "input").mkdir()
    return str(path)


@pytest.mark.parametrize("code", [0, 2, 3, 5])
def test_exit_code_report_and_log_pass_through(tmp_path, fake_etl, code):
    result = nightly(tmp_path, str(tmp_path / "input"), "--dry-run", MEDKG_ETL=fake_etl, FAKE_CODE=str(code))
    assert result.returncode == code
    (log,), (report,) = outputs(tmp_path)
    assert log.name[4:14] == report.name[4:14]  # etl-YYYY-MM-DD...: dated, same stamp
    assert json.loads(report.read_text())["exit_code"] == code
    text = log.read_text()
    assert f"fake etl: run --input {tmp_path / 'input'} --report {report} --dry-run" in text
    assert "fake etl stderr" in text
    assert f"end: exit {code}" in text
    if code == 0:
        assert result.stderr == ""  # nothing for cron to mail
    else:
        assert f"exited {code}" in result.stderr and str(log) in result.stderr


def test_no_report_written_is_said_plainly(tmp_path, fake_etl):
    result = nightly(tmp_path, str(tmp_path / "input"), MEDKG_ETL=fake_etl, FAKE_CODE="1", FAKE_NO_REPORT="1")
    assert result.returncode == 1 and "report: (none written)" in result.stderr
    logs, reports = outputs(tmp_path)
    assert len(logs) == 1 and reports == []


def test_input_from_the_environment_with_date_patterns(tmp_path, fake_etl):
    night = subprocess.run(["date", "-d", "yesterday", "+%Y-%m-%d"], capture_output=True, text=True).stdout.strip()
    (tmp_path / "notes" / night).mkdir(parents=True)
    result = nightly(tmp_path, MEDKG_ETL=fake_etl, FAKE_CODE="0",
                     MEDKG_NIGHTLY_INPUT=str(tmp_path / "notes" / "%Y-%m-%d"), MEDKG_NIGHTLY_DATE="yesterday")
    assert result.returncode == 0, result.stderr
    (log,), _ = outputs(tmp_path)
    assert f"fake etl: run --input {tmp_path / 'notes' / night} " in log.read_text()


def test_missing_input_folder_exits_1_without_running_etl(tmp_path):
    result = nightly(tmp_path, str(tmp_path / "no-such-night"), MEDKG_ETL=str(REAL_ETL))
    assert result.returncode == 1
    assert "input not found" in result.stderr
    (log,), reports = outputs(tmp_path)
    assert "input not found" in log.read_text() and reports == []


def test_no_input_at_all_exits_1(tmp_path):
    result = nightly(tmp_path, MEDKG_ETL=str(REAL_ETL))
    assert result.returncode == 1 and "no input" in result.stderr


def test_real_etl_with_a_bad_setting_exits_1(tmp_path):
    """The real `etl`: a wrong setting is exit 1 whatever `etl run` does with it."""
    (tmp_path / "input").mkdir()
    result = nightly(tmp_path, str(tmp_path / "input"), MEDKG_ETL=str(REAL_ETL), ETL_CONFIG=str(tmp_path / "nope.toml"))
    assert result.returncode == 1
    (log,), _ = outputs(tmp_path)
    assert "end: exit 1" in log.read_text()


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory, tiny_models):
    """A config using the tiny model folders, and two inputs: clean, and with a bad row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("nightly")
    (root / "config.toml").write_text(
        f'[relation]\nmodel_dir = "{tiny_models["relation"]}"\n[spans]\nmodel_dir = "{tiny_models["spans"]}"\n'
        '[run]\nreports_dir = "var/reports"\nquarantine_dir = "var/quarantine"\n', encoding="utf-8")
    texts = tiny_models["texts"][:2]
    for name, rows in {"clean": texts, "partial": texts + [None]}.items():
        (root / name).mkdir()
        pq.write_table(pa.table({"doc_id": [f"d{i}" for i in range(len(rows))], "text": rows,
                                 "section": ["x"] * len(rows)}), root / name / "notes.parquet")
    return root


@needs_etl_run
@pytest.mark.parametrize("night, code", [("clean", 0), ("partial", 2)])
def test_real_etl_dry_run_success_and_partial(tmp_path, tiny_project, night, code):
    result = nightly(tmp_path, str(tiny_project / night), "--dry-run", MEDKG_ETL=str(REAL_ETL),
                     ETL_CONFIG=str(tiny_project / "config.toml"))
    (log,), (report,) = outputs(tmp_path)
    assert result.returncode == code, log.read_text()
    data = json.loads(report.read_text())
    assert data["exit_code"] == code and data["dry_run"] and data["rows_read"] == 2 + (code == 2)
    assert data["documents_quarantined"] == (code == 2)
    assert (code == 0) == (result.stderr == "")


@needs_etl_run
def test_real_etl_run_reports_a_bad_config_file(tmp_path):
    (tmp_path / "input").mkdir()
    result = nightly(tmp_path, str(tmp_path / "input"), MEDKG_ETL=str(REAL_ETL), ETL_CONFIG=str(tmp_path / "nope.toml"))
    assert result.returncode == 1
    (log,), _ = outputs(tmp_path)
    assert "config file not found" in log.read_text()


@pytest.mark.slow  # `make test` only, not `make check`
@needs_etl_run
def test_the_readme_cron_line_works_from_any_folder(tmp_path):
    """issue 17: the cron line (then the README's, now in docs/running.md) failed every night
    ("relation model folder not found"): cron starts in $HOME with a bare environment, and etl
    looked for ./config.toml and resolved its default paths against the working folder. Here: no
    config anywhere near, a plain notes file (doc_id and text only), and the wrapper found by its
    path, as in that line.
    Only etl's own output folders and the store are moved out of the installation's var/."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    night = subprocess.run(["date", "-d", "yesterday", "+%Y-%m-%d"], capture_output=True, text=True).stdout.strip()
    (tmp_path / "notes" / night).mkdir(parents=True)
    pq.write_table(pa.table({"doc_id": ["a", "b"], "text": ["患者发热三天，咳嗽。", "糖尿病患者多饮多尿。"]}),
                   tmp_path / "notes" / night / "notes.parquet")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh", "LANG": "C",
           "MEDKG_NIGHTLY_INPUT": str(tmp_path / "notes" / "%Y-%m-%d"), "MEDKG_NIGHTLY_DATE": "yesterday",
           "MEDKG_NIGHTLY_REPORTS": str(tmp_path / "nightly"),
           "ETL_RUN_REPORTS_DIR": str(tmp_path / "var" / "reports"),
           "ETL_RUN_QUARANTINE_DIR": str(tmp_path / "var" / "quarantine"),
           "ETL_GRAPH_FALKORDB_DATA_DIR": str(tmp_path / "var" / "falkordb")}
    result = subprocess.run([str(SCRIPT)], cwd=home, env=env, capture_output=True, text=True, timeout=600)
    logs = sorted((tmp_path / "nightly").glob("etl-*.log"))
    assert result.returncode == 0, result.stderr + "".join(p.read_text() for p in logs)
    assert result.stderr == ""  # nothing for cron to mail
    [report] = sorted((tmp_path / "nightly").glob("etl-*.json"))
    data = json.loads(report.read_text())
    assert data["rows_read"] == data["documents_extracted"] == 2 and data["sink"] == "falkordb"
    assert data["model_versions"]["relation"] == (ROOT / "models" / "relation" / "version.txt").read_text().strip()
    assert "section" in data["warnings"][0]  # a configured metadata column missing: a warning only
    assert [p.name for p in home.iterdir()] in ([], [".keras"])  # no var/ in the working folder (Keras
    # keeps its own settings in $HOME/.keras)


def test_script_is_executable_bash():
    assert os.access(SCRIPT, os.X_OK)
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0
    if shutil.which("shellcheck"):  # pragma: no cover - not installed everywhere
        assert subprocess.run(["shellcheck", str(SCRIPT)]).returncode == 0
