"""bench/memory.py at 2 notes x 2: peak RSS of `etl run --dry-run` on an input and on it doubled."""
from __future__ import annotations

import json

import pytest

import memory


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow


def test_memory_of_one_and_of_n_copies(shipped_models, bench_notes, tmp_path):
    out = tmp_path / "memory.json"
    memory.main(["--input", str(bench_notes), "--rows", "2", "--times", "2", "--json", str(out)])
    f = json.loads(out.read_text(encoding="utf-8"))
    assert f["rows_1x"] == 2 and f["rows_2x"] == 4
    # A process that imported TensorFlow and loaded the models: hundreds of MB, not a crashed run's few.
    assert 200 < f["peak_mb_1x"] < 8000 and 200 < f["peak_mb_2x"] < 8000
    assert f["ratio"] == pytest.approx(f["peak_mb_2x"] / f["peak_mb_1x"], abs=0.002)
