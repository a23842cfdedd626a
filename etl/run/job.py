"""`etl run`'s job: everything around the stages, in the order a run does it.

    checks      before any work (exit 1, and a report when possible): writable report, quarantine and
                --triples-out places, the input's files and columns, outputs not over inputs, model
                folders, normaliser targets, the device (etl/runtime.py), a reachable Ray cluster
    lock        one run per store (etl/lock.py), taken only once the checks passed
    models      loaded and traced (etl/run/models.py), then the sink opened (etl/graph)
    Run node    `running` at the start (a killed run's stale one closed), ok / partial / failed at the end
    engine      local threads (etl/run/threads.py) or Ray (etl/run/ray_engine.py), through one driver
                (etl/run/driver.py): quarantine, ledger, gathered writes, counts
    normalise   the entities the run named -> concepts (etl/normalize.py), after every write
    report      always written (whole or not at all), the summary printed; SIGTERM ends the run like
                Ctrl-C (exit 130)
"""
from __future__ import annotations

import contextlib
import secrets
import signal
import time
from pathlib import Path

import click

from etl import errors
from etl.errors import DataError, Terminated
from etl.extract import QuarantineWriter, open_input, refuse_outputs_over_inputs
from etl.graph import store_target
from etl.lock import RunLock
from etl.models.folder import validate_folder
from etl.report import Progress, RunReport, check_writable, write_atomic
from etl.run.driver import Driver
from etl.run.models import load_models, load_normalizers
from etl.run.options import run_options


def run_job(settings, input_path: str, *, limit: int | None = None, dry_run: bool = False, full: bool = False,
            triples_out: Path | None = None, report_path: Path | None = None) -> int:
    """One `etl run` of `input_path` with `settings` (the command line's overrides already in them:
    `graph.sink` is "none" for a dry run). Returns the exit code; raises what ended a failed run
    after its report is written."""
    kind = settings.graph.sink
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    report = RunReport(run_id=run_id, input=str(input_path), sink=kind, started=started, engine=settings.run.engine,
                       dry_run=dry_run, full=full, triples_out=str(triples_out or ""))
    quarantine = QuarantineWriter(Path(settings.run.quarantine_dir) / f"quarantine-{run_id}.jsonl")
    lock = None
    failure: BaseException | None = None
    reports_ok = False
    try:
        # Everything that can be checked before work starts (exit 1, and a report when possible).
        check_writable(settings.run.reports_dir, "run.reports_dir")
        reports_ok = True
        check_writable(settings.run.quarantine_dir, "run.quarantine_dir")
        if triples_out:
            check_writable(Path(triples_out).absolute().parent, "--triples-out")
        inputs = open_input(input_path, settings.input.id_column, settings.input.text_column,
                            settings.input.metadata_columns)
        try:
            refuse_outputs_over_inputs(input_path, inputs, {"--report": report_path})
        except DataError:
            report_path = None  # the report's copy (written even after an error) must not land on an input
            raise
        refuse_outputs_over_inputs(input_path, inputs, {"--triples-out": triples_out})
        report.input_files = list(inputs.files)
        report.input_skipped = [{"file": name, "reason": reason} for name, reason in inputs.skipped]
        report.warnings = inputs.warnings
        validate_folder(settings.relation.model_dir, "relation")
        validate_folder(settings.spans.model_dir, "spans")
        if settings.assertion.enabled:
            validate_folder(settings.assertion.model_dir, "assertion")
        if settings.graph.sink != "none":
            from etl.normalize import targets, validate_target

            for target in targets(settings):
                validate_target(target)
        from etl.runtime import configure

        runtime = configure(settings.runtime)  # device choice fails here (exit 1), before the lock
        with contextlib.ExitStack() as stack:
            if settings.run.engine == "ray":  # an unreachable cluster fails here (exit 1), before the lock
                from etl.run.ray_engine import ray_session

                stack.enter_context(ray_session(settings))
            if kind != "none":
                lock = RunLock(settings.run.reports_dir, store_target(settings.graph, kind)).acquire(run_id)
            with _sigterm_as_interrupt():
                _run(settings, runtime, inputs, report, quarantine, triples_out, full, limit)
    except BaseException as error:  # noqa: BLE001  (recorded in the report, raised again below)
        failure = error
        report.error, report.exit_code = _describe(error)
    failure = _finish(report, quarantine, lock, settings, report_path, reports_ok) or failure
    if failure is not None:
        raise failure
    return report.exit_code


def _describe(error: BaseException) -> tuple[str, int]:
    """(message, exit code) of what ended a run, for its report."""
    if isinstance(error, errors.EtlError):
        return str(error), error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return (str(error) or "interrupted"), errors.EXIT_INTERRUPTED
    return f"{type(error).__name__}: {error}", errors.EXIT_INTERNAL


def _finish(report, quarantine, lock, settings, report_path, reports_ok) -> errors.OutputError | None:
    """Close the quarantine file, release the lock, write the report (whole or not at all) and
    print the summary. Returns the error that ends a run that had not failed before: a quarantine
    or report file that could not be written (exit 3, naming the setting)."""
    failed_before = bool(report.error)
    problems: list[errors.OutputError] = []
    try:
        quarantine.close()
    except errors.OutputError as error:
        problems.append(error)
    if lock is not None:
        lock.release()
    report.finished = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    report.quarantine_by_reason = dict(quarantine.by_reason)
    report.quarantine_file = str(quarantine.path) if quarantine.count else ""
    if problems and not failed_before:
        report.error, report.exit_code = _describe(problems[0])
    if not report.error:
        report.exit_code = errors.EXIT_PARTIAL if report.documents_quarantined else errors.EXIT_OK
    path = None
    if reports_ok:
        try:
            path = report.write(settings.run.reports_dir)
            if report_path:
                report_path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(report_path, path.read_text(encoding="utf-8"))
        except OSError as error:
            where = (f"copy the run report to {report_path} (--report)" if path is not None else
                     f"write the run report in {settings.run.reports_dir} (run.reports_dir)")
            problems.append(errors.OutputError(f"cannot {where}: {error.strerror or error}"))
    click.echo(report.summary())
    click.echo(f"  report: {path or '(not written)'}")
    if failed_before:  # the first failure is what the run exits with; say what else went wrong
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        return None
    for problem in problems[1:]:
        click.echo(f"error: {problem}", err=True)
    return problems[0] if problems else None


@contextlib.contextmanager
def _sigterm_as_interrupt():
    def handler(signum, frame):
        raise Terminated("terminated (SIGTERM)")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _normalize(sink, normalizers, settings, report) -> None:
    """Entities the documents named -> concepts (etl/normalize.py), after every write of the run."""
    from etl.normalize import normalize_all

    stats = normalize_all(sink, [(normalizer, target.labels, target.min_score) for target, normalizer in normalizers],
                          settings.normalizer.page, progress=lambda line: click.echo(line, err=True))
    report.normalization = stats.as_dict()
    report.stage_seconds["normalize"] = stats.seconds


def _run(settings, runtime, inputs, report, quarantine, triples_out, full, limit):
    """Load the models, open the sink, run the engine, keep the :Run node up to date."""
    from etl.graph import open_sink
    from etl.graph.records import RunRecord

    tick = time.monotonic()
    models = load_models(settings, runtime)
    report.runtime = runtime.as_dict()
    report.model_versions = dict(models.versions)
    load_seconds = time.monotonic() - tick
    normalizers = load_normalizers(settings) if settings.graph.sink != "none" else []
    load_times = {"load_models": load_seconds}
    for target, normalizer in normalizers:
        report.model_versions[target.name] = normalizer.version
    if normalizers:
        load_times["load_normalizer"] = time.monotonic() - tick - load_seconds
    options = run_options(settings, limit=limit, full=full)
    total = min(inputs.rows, limit) if limit else inputs.rows
    with open_sink(settings.graph, schema=models.schema, triples_out=triples_out) as sink:
        record = RunRecord(report.run_id, report.started,
                           info={"input": report.input, **{f"model_{k}": v for k, v in report.model_versions.items()}})
        # Under the run lock no other run is writing: a `running` Run node is a killed run's.
        report.stale_runs_closed = sink.close_stale_runs(report.run_id, report.started)
        sink.start_run(record)
        progress = Progress(total)
        try:
            driver = Driver(models.versions, sink, report, options, quarantine, progress)
            if settings.run.engine == "ray":
                from etl.run.ray_engine import run_on_ray

                run_on_ray(driver, inputs, settings)
            else:
                from etl.run.threads import run_threads

                run_threads(models, driver, inputs)
            if normalizers:
                _normalize(sink, normalizers, settings, report)
        except BaseException as error:
            record.status = "failed"
            record.info["error"] = _describe(error)[0][:500]
            raise
        finally:
            progress.close()
            report.stage_seconds = {**load_times, **report.stage_seconds}
            if record.status != "failed":
                record.status = "partial" if report.documents_quarantined else "ok"
            record.finished_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            record.counts = {"rows_read": report.rows_read, "documents_extracted": report.documents_extracted,
                             "documents_skipped": report.documents_skipped,
                             "documents_quarantined": report.documents_quarantined,
                             "windows": report.windows, "triples": report.triples,
                             "triples_asserted": report.triples_asserted}
            try:
                sink.finish_run(record)
            except errors.SinkError:
                if record.status != "failed":
                    raise
