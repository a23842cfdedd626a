"""`etl run`: the main job's options; the job itself is etl/run/job.py."""
from __future__ import annotations

from pathlib import Path
from typing import get_args

import click

from etl.config import Engine, SinkKind


@click.command("run")
@click.option("--input", "input_path", required=True, metavar="PATH",
              help="Parquet file, folder of Parquet files, or glob (quote it).")
@click.option("--limit", type=click.IntRange(min=1), help="Read at most N input rows.")
@click.option("--dry-run", is_flag=True, help="Extract but write nothing to the graph (no ledger either).")
@click.option("--sink", type=click.Choice(get_args(SinkKind)),
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
@click.option("--engine", type=click.Choice(get_args(Engine)),
              help="local: threads in this process; ray: Ray Data reads the input, the model stages run on Ray actors "
                   "(default: run.engine; see docs/ray.md).")
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
    evidence (document, offsets, score, assertions, model versions, run id). Unchanged documents
    (same content hash and model versions as the ledger on their Document node) are skipped, so
    nightly re-runs add nothing twice.
    Bad rows are quarantined with a reason (exit code 2); a run report is always written.
    """
    from etl.config import replace
    from etl.run.job import run_job

    overrides = {"graph.sink": "none" if dry_run else sink,
                 "relation.model_dir": relation_model, "spans.model_dir": span_model,
                 "assertion.model_dir": assertion_model, "run.engine": engine, "ray.address": ray_address}
    settings = replace(app.settings, **{k.replace(".", "__"): v for k, v in overrides.items() if v is not None})
    return run_job(settings, input_path, limit=limit, dry_run=dry_run, full=full, triples_out=triples_out,
                   report_path=report_path)
