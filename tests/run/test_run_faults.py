"""Output folders that cannot take etl's files (issue 17): read-only or full. They used to give
exit 4 "internal error" without naming the setting, and a full quarantine folder left no run
report at all. Now: exit 1 naming the setting when found before work starts, exit 3 naming it
when it happens mid-run, and the report written whenever its own folder can take it.

A read-only or tiny file system needs a mount namespace of our own (`unshare --user
--map-root-user --mount`, then a tmpfs): root would write through file permissions, so chmod
cannot stand in. Skipped, with the reason, where the kernel does not allow unprivileged
namespaces."""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl.errors import EXIT_SINK, EXIT_USAGE


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow


def confined(mount: Path, options: str, command: list[str], before: str = "") -> subprocess.CompletedProcess:
    """Run `command` with a fresh tmpfs (`options`, e.g. "ro" or "size=4k") mounted on `mount`;
    `before` runs first inside the namespace (e.g. to fill the file system). The tmpfs and what
    was written to it vanish with the namespace; the files on it are listed on the last line."""
    script = (f"mount -t tmpfs -o {options} tmpfs {shlex.quote(str(mount))} && {before or 'true'} && "
              f"{{ {shlex.join(command)}; code=$?; echo \"files: $(cd {shlex.quote(str(mount))} && "
              f"find . -type f | sort | tr '\\n' ' ')\"; "
              f"exit $code; }}")
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", script],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def namespaces(tmp_path_factory):
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed: no private mounts for read-only/full folders")
    mount = tmp_path_factory.mktemp("probe")
    probe = confined(mount, "size=4k", ["true"])
    if probe.returncode != 0:
        pytest.skip(f"this kernel does not allow a private tmpfs mount: {probe.stderr.strip()}")


@pytest.fixture
def project(tmp_path, tiny_models):
    (tmp_path / "mnt").mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[relation]\nmodel_dir = "{tiny_models["relation"]}"\n[spans]\nmodel_dir = '
                      f'"{tiny_models["spans"]}"\n[run]\nreports_dir = "{tmp_path / "reports"}"\n'
                      f'quarantine_dir = "{tmp_path / "quarantine"}"\n[input]\nread_batch_rows = 8\n',
                      encoding="utf-8")
    texts = tiny_models["texts"]
    rows = [{"doc_id": f"d{i}", "text": texts[i % len(texts)] if i < 4 else None} for i in range(300)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "notes.parquet")  # 296 rows to quarantine
    return tmp_path, config


def etl(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "etl.cli", "--config", str(config), *args]


def reports(tmp_path: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((tmp_path / "reports").glob("run-*.json"))]


@pytest.mark.parametrize("setting, options, fill", [
    ("run.reports_dir", "ro", ""), ("run.reports_dir", "size=4k", "head -c 4096 /dev/zero > {mnt}/fill"),
    ("run.quarantine_dir", "ro", ""), ("run.quarantine_dir", "size=4k", "head -c 4096 /dev/zero > {mnt}/fill")])
def test_read_only_or_full_output_folder_before_work_starts_exits_1_naming_it(namespaces, project, setting, options,
                                                                               fill):
    tmp_path, config = project
    mnt = tmp_path / "mnt"
    result = confined(mnt, options, etl(config, "--set", f"{setting}={mnt / 'out'}", "--set",
                                        "relation.model_dir=/nowhere", "run", "--input",
                                        str(tmp_path / "notes.parquet"),
                                        "--dry-run"), before=fill.format(mnt=shlex.quote(str(mnt))))
    assert result.returncode == EXIT_USAGE, result.stdout + result.stderr
    assert f"error: {setting} = {mnt / 'out'}: cannot write there" in result.stderr
    assert ("Read-only file system" if options == "ro" else "No space left on device") in result.stderr
    assert result.stdout.splitlines()[-1].strip() == ("files: ./fill" if fill else "files:")  # no empty file left
    written = reports(tmp_path)
    if setting == "run.reports_dir":
        assert written == [] and "report: (not written)" in result.stdout
    else:  # the model folder is never looked at: the output folders are checked first
        [report] = written
        assert report["exit_code"] == EXIT_USAGE and report["error"].startswith(setting)


def test_quarantine_folder_filling_up_mid_run_exits_3_and_the_report_says_why(namespaces, project):
    tmp_path, config = project
    mnt = tmp_path / "mnt"
    result = confined(mnt, "size=4k", etl(config, "--set", f"run.quarantine_dir={mnt}", "run", "--input",
                                          str(tmp_path / "notes.parquet"), "--dry-run"))
    assert result.returncode == EXIT_SINK, result.stdout + result.stderr
    assert f"cannot write the quarantine file {mnt}/quarantine-" in result.stderr
    assert "(run.quarantine_dir): No space left on device" in result.stderr
    [report] = reports(tmp_path)
    assert report["exit_code"] == EXIT_SINK and "run.quarantine_dir" in report["error"]
    assert 0 < report["documents_quarantined"] < 296  # it stopped when the disk was full
