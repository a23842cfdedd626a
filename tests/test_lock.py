import subprocess
import sys

import pytest

from etl.errors import LockedError
from etl.lock import RunLock


def test_second_holder_is_refused_with_a_clear_message(tmp_path):
    first = RunLock(tmp_path, "falkordb:/data").acquire("run-1")
    with pytest.raises(LockedError, match="run run-1"):
        RunLock(tmp_path, "falkordb:/data").acquire("run-2")
    RunLock(tmp_path, "neo4j:bolt://other").acquire("run-3").release()  # other store: fine
    first.release()
    RunLock(tmp_path, "falkordb:/data").acquire("run-4").release()


def test_lock_held_by_another_process_and_dropped_when_it_dies(tmp_path):
    code = ("import sys,time; from etl.lock import RunLock; "
            f"lock = RunLock({str(tmp_path)!r}, 't').acquire('child'); print('locked', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=f"pid {child.pid}"):
            RunLock(tmp_path, "t").acquire("parent")
    finally:
        child.kill()
        child.wait()
    RunLock(tmp_path, "t").acquire("parent").release()  # killed holder leaves no stale lock
