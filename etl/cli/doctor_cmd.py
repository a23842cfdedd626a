"""`etl doctor`: checks that this machine is ready for `etl run` (logic in etl/doctor.py)."""
from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("doctor")
@click.option("--input", "input_path", type=click.Path(path_type=Path),
              help="Also check that this input (Parquet file, folder or glob) is readable.")
@click.option("--min-free-mb", type=click.IntRange(min=0), default=1024, show_default=True,
              help="Free disk needed where reports and quarantine files go.")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.pass_obj
def command(app, input_path: Path | None, min_free_mb: int, as_json: bool) -> int:
    """Check Python and packages, models, GPU, graph store, input and disk.

    Each check prints ok, warn, fail or skip, with a fix for what is wrong. Checks: Python 3.11
    and the pinned packages; the settings; each model folder (files, vocab.txt vs the encoder's
    vocab_size, version.txt vs weights.h5, loads); GPU visible (CPU fallback is a warning, or ok
    with runtime.device = cpu); graph store reachable and its constraints/indexes; the input
    (--input); free disk for run.reports_dir and run.quarantine_dir.

    \b
    Exit code: 0 when no check failed (warnings allowed), 1 when any check failed.
    """
    from etl.doctor import run_checks

    report = run_checks(lambda: app.settings, input_path, min_free_mb)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(report.text())
    return report.exit_code
