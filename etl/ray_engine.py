"""`etl run --engine ray`: the model stages on Ray Data actors, everything else as in a local run.

    driver   rows -> quarantine | ledger check (skip unchanged)       (Pipeline.todo_batches: the local code)
    actors   windows, tokens, relations, spans, merge, assertions   (Pipeline.extract, models loaded once per actor)
    driver   sink.write_documents(documents, evidence), counts, progress   (one writer: no concurrent
             writers, so no deadlock and no interleaving of one document's replacement)

Reading, validation, quarantine, the ledger and the graph writes stay on the driver, through the same
functions a local run calls, so the two engines cannot drift apart in meaning; only the compute-bound
part moves to the cluster. The driver hands Ray Data at most `ray.chunk_rows` documents at a time
(`from_items`), which bounds its memory; the actors of a chunk are started once for that chunk.

Documents and results cross process boundaries pickled (one bytes column): Arrow would otherwise have
to infer a schema for metadata dicts that differ between input files.
"""
from __future__ import annotations

import contextlib
import logging
import pickle
import signal
import socket
import threading
import time

from etl.errors import ClusterError, ConfigError
from etl.pipeline import Pipeline, StageTimer
from etl.report import RunReport

log = logging.getLogger(__name__)

# Counts the actors add up and the driver merges into its report (the driver counts the rest).
ACTOR_COUNTS = ("windows", "span_queries", "triples_dropped_by_schema", "assertion_mentions")


class ExtractActor:
    """One Ray Data actor: loads the relation, span and assertion models once, then runs every model
    stage over each batch of documents it is given (Pipeline.extract)."""

    def __init__(self, settings, options, run_id: str):
        from etl.cli.run_cmd import load_models
        from etl.runtime import configure
        from etl.schema import load_schema

        runtime = configure(settings.runtime)
        relations, spans, assertions = load_models(settings, runtime)
        self.run_id = run_id
        self.pipeline = Pipeline(load_schema(), relations, spans, sink=None, report=self._report(),
                                 options=options, quarantine=None, assertions=assertions)

    def _report(self) -> RunReport:
        return RunReport(run_id=self.run_id, input="", sink="", started="")

    def __call__(self, batch: dict) -> dict:
        self.pipeline.report, self.pipeline.timer = self._report(), StageTimer()
        documents = [pickle.loads(blob) for blob in batch["doc"]]
        results = self.pipeline.extract(documents)
        counts = {name: getattr(self.pipeline.report, name) for name in ACTOR_COUNTS}
        counts["stage_seconds"] = dict(self.pipeline.timer.seconds)
        # One row per document; the batch's counts ride on its first row.
        return {"i": batch["i"], "result": [pickle.dumps(pair) for pair in results],
                "counts": [pickle.dumps(counts)] + [b""] * (len(results) - 1)}


@contextlib.contextmanager
def ray_session(settings):
    """Ray for one run: joins `ray.address` (bounded by `ray.connect_timeout`), or starts a local Ray
    with `ray.local_cpus` CPUs, or uses the Ray this process already started (the tests' shared
    cluster); shuts down what it started. Entered before the lock and the store are touched, so a
    cluster that cannot be reached ends the run with exit 1 and nothing done."""
    import ray

    rs = settings.ray
    owned = not ray.is_initialized()
    if owned:
        if rs.address:
            _join(rs.address, rs.connect_timeout)
        else:
            _start_local(rs.local_cpus)
    try:
        yield
    finally:
        if owned:
            ray.shutdown()


def _where(address: str) -> str:
    return f"cannot join the Ray cluster at {address} (ray.address, --ray-address)"


def _join(address: str, timeout: float) -> None:
    """ray.init(address) within `timeout` seconds. Ray 2.60 keeps retrying an address nothing
    answers on for many minutes (20 attempts of ~35 s each in Node._init_gcs_client; the RAY_*
    variables that shorten it are process-wide and undocumented), so a nightly run would hang:
    first a plain TCP connect to the address (nothing listening: a clear error at once), then
    ray.init in a helper thread the run stops waiting for after `timeout` (something listening
    that is not a Ray head). A thread left behind in ray.init ends with the process."""
    import ray

    deadline = time.monotonic() + timeout
    target = _host_port(address)
    if target is not None:
        try:
            socket.create_connection(target, timeout=timeout).close()
        except OSError as error:
            reason = "timed out" if isinstance(error, TimeoutError) else (error.strerror or str(error))
            raise ConfigError(f"{_where(address)}: {target[0]}:{target[1]}: {reason} "
                              f"(ray.connect_timeout = {timeout:g} s)") from None
    outcome: dict = {}

    def connect():
        try:
            ray.init(address=address, log_to_driver=False)
            outcome["ok"] = True
        except BaseException as error:  # noqa: BLE001  (handed to the main thread)
            outcome["error"] = error

    helper = threading.Thread(target=connect, name="ray-connect", daemon=True)
    helper.start()
    helper.join(max(0.0, deadline - time.monotonic()))
    if helper.is_alive():
        raise ConfigError(f"{_where(address)}: no Ray head answered within {timeout:g} s (ray.connect_timeout)")
    error = outcome.get("error")
    if error is not None:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"{_where(address)}: {first}") from error


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) that `address` names, or None when Ray finds it itself ("auto": the running
    cluster's file or RAY_ADDRESS) or it has no port."""
    rest = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = rest.rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def _start_local(cpus: int) -> None:
    import ray

    # ray.init installs its own SIGTERM handler (sys.exit(15): exit 4, "internal error"); keep
    # the run's, which closes the run as interrupted (exit 130) like a local run.
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    except SystemExit as error:  # SIGTERM while ray.init had its own handler in place
        if error.code != signal.SIGTERM:
            raise
        from etl.cli.run_cmd import Terminated

        raise Terminated("terminated (SIGTERM)") from None
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ConfigError(f"cannot start a local Ray (ray.local_cpus): {error}") from error
    finally:
        for sig, handler in handlers.items():
            if handler is not None and threading.current_thread() is threading.main_thread():
                signal.signal(sig, handler)


def run_on_ray(pipeline: Pipeline, inputs, settings) -> RunReport:
    """Run `pipeline` (its sink, report, quarantine and progress: the driver's) with the model stages
    on the Ray this process is connected to (ray_session)."""
    import ray

    started = time.monotonic()
    rs = settings.ray
    pipeline.report.runtime["ray"] = {"address": rs.address or "local", "actors": rs.actors,
                                      "cpus_per_actor": rs.cpus_per_actor, "gpus_per_actor": rs.gpus_per_actor,
                                      "cluster_cpus": ray.cluster_resources().get("CPU", 0)}
    ray.data.DataContext.get_current().enable_progress_bars = False  # ours is on the terminal
    chunk = []
    for todo in pipeline.todo_batches(inputs):
        chunk.extend(todo)
        if len(chunk) >= rs.chunk_rows:
            _extract_chunk(pipeline, chunk, settings)
            chunk = []
    if chunk:
        _extract_chunk(pipeline, chunk, settings)
    pipeline.report.stage_seconds = dict(pipeline.timer.seconds)
    pipeline.report.wall_seconds = time.monotonic() - started
    return pipeline.report


# Times one chunk's remaining documents go to new actors after a model actor died (ray.kill, a
# crashed or lost node); Ray Data restarts an actor that can be restarted by itself, but a dataset
# whose actor is gone for good aborts. Then the run stops with exit 3 and a rerun resumes.
ACTOR_FAILURES_RETRIED = 2


def _extract_chunk(pipeline: Pipeline, documents: list, settings) -> None:
    """Extract and write `documents`; when an actor dies, what was written stays written and the
    documents not written yet go to new actors (each written once, so the graph and the counts
    are the ones an undisturbed run gives)."""
    import ray

    todo = dict(enumerate(documents))
    for failures in range(ACTOR_FAILURES_RETRIED + 1):
        try:
            _extract(pipeline, todo, settings)
            return
        except ray.exceptions.RayActorError as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            if failures == ACTOR_FAILURES_RETRIED:
                raise ClusterError(f"a Ray model actor died {failures + 1} times ({first}); "
                                   f"{len(todo)} documents not written: rerun to resume") from error
            pipeline.report.warnings.append(f"a Ray model actor died ({first}): {len(todo)} documents not "
                                            f"written yet went to new actors")
            log.warning(pipeline.report.warnings[-1])


def _extract(pipeline: Pipeline, todo: dict, settings) -> None:
    """One Ray Data pass over `todo` (index -> document); written documents leave `todo`."""
    import ray

    rs = settings.ray
    dataset = ray.data.from_items([{"i": i, "doc": pickle.dumps(d)} for i, d in todo.items()])
    dataset = dataset.map_batches(
        ExtractActor, fn_constructor_kwargs={"settings": settings, "options": pipeline.options,
                                             "run_id": pipeline.report.run_id},
        batch_size=rs.batch_rows, concurrency=rs.actors, num_cpus=rs.cpus_per_actor,
        num_gpus=rs.gpus_per_actor or None, batch_format="numpy")
    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        for blob in batch["counts"]:
            if blob:
                _merge_counts(pipeline, pickle.loads(blob))
        results = [pickle.loads(blob) for blob in batch["result"]]
        documents_out = [d for d, _ in results]
        evidence = [e for _, rows in results for e in rows]
        tick = time.monotonic()
        pipeline.sink.write_documents(documents_out, evidence, run_id=pipeline.report.run_id)
        pipeline.timer.add("write", time.monotonic() - tick)
        pipeline.written(documents_out, evidence)
        for i in batch["i"]:
            del todo[int(i)]


def _merge_counts(pipeline: Pipeline, counts: dict) -> None:
    for name in ACTOR_COUNTS:
        setattr(pipeline.report, name, getattr(pipeline.report, name) + counts[name])
    for stage, seconds in counts["stage_seconds"].items():
        pipeline.timer.add(stage, seconds)
