"""`etl run`: the main job (see etl/pipeline.py for the stages)."""
from __future__ import annotations

import contextlib
import logging
import secrets
import signal
import time
from pathlib import Path

import click

from etl import errors
from etl.report import write_atomic

log = logging.getLogger("etl.run")


@click.command("run")
@click.option("--input", "input_path", required=True, metavar="PATH",
              help="Parquet file, folder of Parquet files, or glob (quote it).")
@click.option("--limit", type=click.IntRange(min=1), help="Read at most N input rows.")
@click.option("--dry-run", is_flag=True, help="Extract but write nothing to the graph (no ledger either).")
@click.option("--sink", type=click.Choice(["falkordb", "neo4j", "none"]),
              help="Graph store (default: graph.sink from the config).")
@click.option("--triples-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every piece of evidence to this Parquet file.")
@click.option("--full", is_flag=True, help="Ignore the ledger: re-extract documents even if unchanged.")
@click.option("--relation-model", type=click.Path(file_okay=False, path_type=Path),
              help="Relation model folder (default: relation.model_dir).")
@click.option("--span-model", type=click.Path(file_okay=False, path_type=Path),
              help="Span model folder (default: spans.model_dir).")
@click.option("--assertion-model", type=click.Path(file_okay=False, path_type=Path),
              help="Assertion model folder (default: assertion.model_dir; `--set assertion.enabled=false` "
                   "takes every finding as present).")
@click.option("--engine", type=click.Choice(["local", "ray"]),
              help="local: threads in this process; ray: Ray Data reads the input, the model stages run on Ray actors "
                   "(default: run.engine; see README, Running on a Ray cluster).")
@click.option("--ray-address", metavar="ADDR",
              help="Ray cluster to join with --engine ray (default: ray.address; empty: a local Ray).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also copy the run report JSON here (it is always written to run.reports_dir).")
@click.pass_obj
def command(app, input_path, limit, dry_run, sink, triples_out, full, relation_model, span_model,
            assertion_model, engine, ray_address, report_path):
    """Extract triples from clinical notes and write them into the knowledge graph.

    Streams the input in record batches; cuts each note into overlapping windows; asks the
    relation classifier which relations each window holds and the span extractor for their
    subjects and objects; judges every subject and object present, absent or possible (assertion
    model); writes nodes, typed relationships (from evidence whose two ends are present) and all
    evidence (document, offsets, score, assertions, model versions, run id). Unchanged documents (same content hash and model versions as
    the ledger on their Document node) are skipped, so nightly re-runs add nothing twice.
    Bad rows are quarantined with a reason (exit code 2); a run report is always written.
    """
    from etl.config import replace
    from etl.errors import DataError
    from etl.extract import QuarantineWriter, open_input, refuse_outputs_over_inputs
    from etl.lock import RunLock, store_target
    from etl.models.folder import validate_folder
    from etl.report import RunReport, check_writable

    settings = app.settings
    overrides = {"graph.sink": "none" if dry_run else sink,
                 "relation.model_dir": relation_model, "spans.model_dir": span_model,
                 "assertion.model_dir": assertion_model, "run.engine": engine, "ray.address": ray_address}
    settings = replace(settings, **{k.replace(".", "__"): v for k, v in overrides.items() if v is not None})
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
                from etl.ray_engine import ray_session

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


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the run is closed as failed, the report written (exit 130)."""


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


def load_models(settings, runtime):
    """(relations, spans, assertions or None), loaded and traced: the local run's models, and each
    Ray actor's (etl/ray_engine.py)."""
    from etl.models.folder import load_checked
    from etl.models.relation.model import RelationClassifier
    from etl.models.spans.model import SpanExtractor
    from etl.runtime import batch_size

    relations = load_checked("relation", settings.relation.model_dir, lambda: RelationClassifier.load(
        settings.relation.model_dir, batch_size=batch_size(settings.runtime, "relation", runtime.device)))
    spans = load_checked("spans", settings.spans.model_dir, lambda: SpanExtractor.load(
        settings.spans.model_dir, batch_size=batch_size(settings.runtime, "spans", runtime.device)))
    assertions = None
    if settings.assertion.enabled:
        from etl.models.assertion.data import Mention
        from etl.models.assertion.model import AssertionClassifier

        assertions = load_checked("assertion", settings.assertion.model_dir, lambda: AssertionClassifier.load(
            settings.assertion.model_dir, batch_size=batch_size(settings.runtime, "assertion", runtime.device),
            decision=settings.assertion.decision or None))
        assertions.assess([Mention("无预热。", 1, 3)])  # trace the compiled function now, like the others
    # Trace both compiled functions now (one trace each: their signatures have dynamic shapes), so
    # the models are ready when the first documents arrive and stage times measure inference.
    relations.predict(["预热"])
    spans.answer([(spans.subject_query(spans.predicates[0]), "预热")])
    return relations, spans, assertions


def load_normalizers(settings) -> list[tuple]:
    """(target, loaded normaliser) of each normaliser folder (etl.normalize.targets), checked as the
    other folders."""
    from etl.models.folder import load_checked
    from etl.models.normalizer.model import Normalizer
    from etl.normalize import targets

    loaded = []
    for target in targets(settings):
        normalizer = load_checked("normalizer", target.model_dir, lambda t=target: Normalizer.load(t.model_dir))
        normalizer.normalize(["预热"])  # trace now, like the other models
        loaded.append((target, normalizer))
    return loaded


def _normalize(sink, normalizers, settings, report) -> None:
    """Entities the documents named -> concepts (etl/normalize.py), after every write of the run."""
    from etl.normalize import normalize_all

    stats = normalize_all(sink, [(normalizer, target.labels, target.min_score) for target, normalizer in normalizers],
                          settings.normalizer.page, progress=lambda line: click.echo(line, err=True))
    report.normalization = stats.as_dict()
    report.stage_seconds["normalize"] = stats.seconds


def _run(settings, runtime, inputs, report, quarantine, triples_out, full, limit):
    """Load the models, open the sink, run the pipeline, keep the :Run node up to date."""
    from etl.graph import RunRecord, open_sink
    from etl.pipeline import Pipeline, pipeline_options
    from etl.report import Progress
    from etl.schema import load_schema

    tick = time.monotonic()
    relations, spans, assertions = load_models(settings, runtime)
    report.runtime = runtime.as_dict()
    report.model_versions = {"relation": relations.version, "spans": spans.version}
    if assertions is not None:
        report.model_versions["assertion"] = assertions.version
    load_seconds = time.monotonic() - tick
    normalizers = load_normalizers(settings) if settings.graph.sink != "none" else []
    load_times = {"load_models": load_seconds}
    for target, normalizer in normalizers:
        report.model_versions[target.name] = normalizer.version
    if normalizers:
        load_times["load_normalizer"] = time.monotonic() - tick - load_seconds
    schema = load_schema()
    options = pipeline_options(settings, limit=limit, full=full)
    total = min(inputs.rows, limit) if limit else inputs.rows
    with open_sink(settings.graph, schema=schema, triples_out=triples_out) as sink:
        record = RunRecord(report.run_id, report.started,
                           info={"input": report.input, **{f"model_{k}": v for k, v in report.model_versions.items()}})
        # Under the run lock no other run is writing: a `running` Run node is a killed run's.
        report.stale_runs_closed = sink.close_stale_runs(report.run_id, report.started)
        sink.start_run(record)
        progress = Progress(total)
        try:
            pipeline = Pipeline(schema, relations, spans, sink, report, options, quarantine, progress,
                                assertions=assertions)
            if settings.run.engine == "ray":
                from etl.ray_engine import run_on_ray

                run_on_ray(pipeline, inputs, settings)
            else:
                pipeline.run(inputs)
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
