"""One `etl run` per graph store at a time: an advisory file lock (fcntl.flock).

The lock file lives beside the run reports and is named after the store target (sink + address
+ database, hashed), so two runs against the same store on this machine exclude each other while
runs against different stores do not. Each store names its own target (etl.graph.store_target asks
its settings); this module knows no store. The kernel drops the lock when the process dies, so a
killed run never leaves a stale lock behind; the file keeps the holder's pid, run id and start
time for the error message. (Runs against one Neo4j from several machines are not excluded:
schedule them from one host.)
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from pathlib import Path

from etl.errors import LockedError


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a killed run's leftovers are judged by this)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


class RunLock:
    def __init__(self, folder: str | Path, target: str):
        digest = hashlib.sha256(target.encode("utf-8")).hexdigest()[:16]
        self.path = Path(folder) / f"etl-run-{digest}.lock"
        self.target = target
        self._handle = None

    def acquire(self, run_id: str) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "{}"
            handle.close()
            try:
                info = json.loads(holder)
            except ValueError:
                info = {}
            raise LockedError(
                f"another etl run is writing to this store ({self.target}): pid {info.get('pid', '?')}, "
                f"run {info.get('run_id', '?')}, started {info.get('started', '?')}; "
                f"lock file {self.path}. Wait for it to finish.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "run_id": run_id,
                                 "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "target": self.target}))
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

