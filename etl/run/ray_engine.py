"""`etl run --engine ray`: the input read by Ray Data, the model stages on Ray actors, the rest as in
a local run.

    Ray Data  ray.data.read_parquet, one file after the other, streamed in file order (bounded memory)
    driver    rows -> quarantine | ledger check (skip unchanged)     (Driver.todo_batches: the local code)
    actors    windows, tokens, relations, spans, merge, assertions  (etl/run/stages.py `extract`; `ray.actors`
              actors, started once per run, each loading the models once)
    driver    sink.write_documents(documents, evidence), counts, progress   (one writer: no concurrent
              writers, so no deadlock and no interleaving of one document's replacement)

The column checks (etl.extract.open_input, before any work), the row checks and quarantine records
(etl.extract.iter_rows), the ledger and the graph writes are the functions a local run calls, so the
two engines cannot drift apart in meaning; only the file reading and the compute-bound part move to
the cluster. Whatever the input size, the driver holds one read batch, fewer than `ray.batch_rows`
documents waiting for a full actor batch, at most `2 x ray.actors` batches in flight and the
results gathered for the next write (`graph.write_triples`), and writes results in input order.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import socket
import threading
import time

from etl.errors import ClusterError, ConfigError, Terminated
from etl.extract import PARQUET_SUFFIXES
from etl.report import RunReport
from etl.run import stages
from etl.run.driver import Driver, WriteGatherer

log = logging.getLogger(__name__)


class ExtractActor:
    """One model actor: loads the relation, span and assertion models once, then runs every model
    stage over each batch of documents it is given (etl/run/stages.py `extract`)."""

    def __init__(self, settings, options, run_id: str):
        from etl.run.models import load_models
        from etl.runtime import configure

        self.models = load_models(settings, configure(settings.runtime))
        self.options, self.run_id = options, run_id

    def extract(self, documents: list) -> tuple[list, stages.Counts]:
        """(document, evidence) per document, and what this batch counted (the driver adds it up)."""
        return stages.extract(self.models, self.options, documents, self.run_id)


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
        raise Terminated("terminated (SIGTERM)") from None
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ConfigError(f"cannot start a local Ray (ray.local_cpus): {error}") from error
    finally:
        for sig, handler in handlers.items():
            if handler is not None and threading.current_thread() is threading.main_thread():
                signal.signal(sig, handler)


def ray_reader(settings):
    """etl.extract.iter_rows's reader on Ray Data: one file's rows in file order, as Arrow tables of
    `batch_rows` rows, streamed by ray.data.read_parquet (read tasks run on the cluster; the driver
    holds one batch at a time plus Ray Data's bounded prefetch). The files must be at the same path on
    every node (docs/ray.md). Read tasks ask for `ray.read_cpus` CPUs: 0 by
    default, so reading never waits for the CPUs the model actors hold for the whole run."""
    import ray

    read_cpus = settings.ray.read_cpus
    # open_input chose the files (any case of .parquet / .parq, hidden ones left out): Ray must not
    # filter them again; no Hive partition columns either (a local run adds none).
    suffixes = [suffix.lstrip(".") for suffix in PARQUET_SUFFIXES]

    def read(name: str, columns: list[str], batch_rows: int):
        dataset = ray.data.read_parquet(os.path.abspath(name), file_extensions=suffixes, partitioning=None,
                                        num_cpus=read_cpus).select_columns(columns)
        try:
            for table in dataset.iter_batches(batch_size=batch_rows, batch_format="pyarrow", prefetch_batches=1):
                read.batches += 1
                yield from table.to_batches()
        except ray.exceptions.RayError as error:  # iter_rows turns it into "read failed at row N" (exit 1)
            last = (str(error).strip().splitlines() or [type(error).__name__])[-1]
            raise OSError(f"Ray Data: {last}") from error
    read.batches = 0
    return read


def run_on_ray(driver: Driver, inputs, settings) -> RunReport:
    """Run with `driver` (its sink, report, quarantine and progress) on this process, the file reading
    on Ray Data and the model stages on the actors of the Ray this process is connected to (ray_session)."""
    import ray

    started = time.monotonic()
    rs = settings.ray
    driver.report.runtime["ray"] = {"address": rs.address or "local", "actors": rs.actors,
                                      "cpus_per_actor": rs.cpus_per_actor, "gpus_per_actor": rs.gpus_per_actor,
                                      "cluster_cpus": ray.cluster_resources().get("CPU", 0)}
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours is on the terminal
    context.execution_options.preserve_order = True  # file order: row numbers, the first of duplicate ids kept
    actors, reader = ActorPool(driver, settings), ray_reader(settings)
    waiting: list = []  # documents to extract, handed to the actors `ray.batch_rows` at a time
    try:
        for todo in driver.todo_batches(inputs, reader=reader):
            waiting.extend(todo)
            while len(waiting) >= rs.batch_rows:
                actors.submit(waiting[:rs.batch_rows])
                waiting = waiting[rs.batch_rows:]
        if waiting:
            actors.submit(waiting)
        actors.drain()
    except ClusterError:
        actors.gathered.flush()  # the documents extracted before the actors were lost stay done
        raise
    finally:
        actors.close()
        # What the driver held: Ray Data batches read, the most documents in flight at once, and the
        # rows read when the first batch was written (streaming: far fewer than the input's rows).
        driver.report.runtime["ray"].update(actors_started=actors.started, read_batches=reader.batches,
                                              actor_batches=actors.batches,
                                              max_documents_in_flight=actors.max_documents,
                                              rows_read_at_first_write=actors.rows_at_first_write)
    return driver.finish(started)


# Times the run replaces a model actor that died (ray.kill, a crashed or lost node) and hands its
# batches to the new one; one more death stops the run with exit 3 (a rerun resumes: the ledger).
ACTOR_FAILURES_RETRIED = 2


class ActorPool:
    """`ray.actors` model actors, started on the first batch (a run with nothing to extract loads no
    model) and kept for the whole run. Batches go round-robin, at most two per actor in flight (one
    running, one waiting, so no actor idles while the driver writes), and their results go, in the
    order the batches were submitted, to the run's WriteGatherer (few large sink writes). When an
    actor dies, what was written stays written and its batches not written yet go to a new actor:
    each document is written once, so the graph and the counts are the ones an undisturbed run gives."""

    def __init__(self, driver: Driver, settings):
        self.driver, self.settings = driver, settings
        self.handles: list = []
        self.in_flight: collections.deque = collections.deque()  # [object ref, actor slot, documents]
        self.next_slot = 0
        self.failures = 0
        self.batches = self.max_documents = 0
        self.rows_at_first_write: int | None = None
        self.started = 0  # actors started: `ray.actors` in a run, plus one per actor that died
        self.gathered = WriteGatherer(driver)  # results wait here for a large sink write
        self._remote = None

    def _start(self):
        import ray

        rs = self.settings.ray
        if self._remote is None:
            resources = {"num_cpus": rs.cpus_per_actor}
            if rs.gpus_per_actor:
                resources["num_gpus"] = rs.gpus_per_actor
            self._remote = ray.remote(**resources)(ExtractActor)
        self.started += 1
        return self._remote.remote(self.settings, self.driver.options, self.driver.run_id)

    def submit(self, documents: list) -> None:
        if not self.handles:
            self.handles = [self._start() for _ in range(self.settings.ray.actors)]
        while len(self.in_flight) >= 2 * len(self.handles):
            self._write_oldest()
        slot = self.next_slot
        self.next_slot = (slot + 1) % len(self.handles)
        self.in_flight.append([self.handles[slot].extract.remote(documents), slot, documents])
        self.batches += 1
        self.max_documents = max(self.max_documents, sum(len(entry[2]) for entry in self.in_flight))

    def drain(self) -> None:
        """Every batch in flight written, and whatever the gatherer still holds."""
        while self.in_flight:
            self._write_oldest()
        self.gathered.flush()

    def _write_oldest(self) -> None:
        import ray

        ref, slot, documents = self.in_flight[0]
        try:
            results, counts = ray.get(ref)
        except ray.exceptions.RayActorError as error:
            self._replace(slot, error)
            return
        self.in_flight.popleft()
        self.driver.count(counts)
        self.gathered.add(results)
        if self.rows_at_first_write is None and self.driver.report.graph_writes:
            self.rows_at_first_write = self.driver.report.rows_read

    def _replace(self, slot: int, error: BaseException) -> None:
        """A new actor in `slot`, given every batch in flight on the dead one (a batch it had finished
        is simply computed again: only the first result of a batch is ever written)."""
        report = self.driver.report
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        waiting = [entry for entry in self.in_flight if entry[1] == slot]
        if self.failures == ACTOR_FAILURES_RETRIED:
            left = sum(len(entry[2]) for entry in self.in_flight)
            raise ClusterError(f"a Ray model actor died {self.failures + 1} times ({first}); "
                               f"{left} documents not written: rerun to resume") from error
        self.failures += 1
        report.warnings.append(f"a Ray model actor died ({first}): {sum(len(e[2]) for e in waiting)} "
                               f"documents not written yet went to a new actor")
        log.warning(report.warnings[-1])
        self.handles[slot] = self._start()
        for entry in waiting:
            entry[0] = self.handles[slot].extract.remote(entry[2])

    def close(self) -> None:
        import ray

        for handle in self.handles:
            ray.kill(handle)
        self.handles = []
