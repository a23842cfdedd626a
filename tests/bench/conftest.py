"""Smoke tests of bench/: each bench's own code run from its command line (`main(argv)`) at the
smallest size, on real components (the shipped models, which load in a second or two; real
embedded stores; the session's Neo4j where the bench writes to one; a real local Ray), and its
figures checked for their keys and for values that agree with the input and with each other. They
say that a bench still runs against today's product; the figures themselves mean nothing at this
size."""
from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))  # the benches import each other by name (common, synthetic)

SHIPPED = ("relation", "spans", "assertion", "normalizer", "normalizer-surgery")


@pytest.fixture(scope="session")
def shipped_models() -> Path:
    """The models folder config.toml names, which the benches load."""
    for kind in SHIPPED:
        if not (ROOT / "models" / kind / "weights.h5").is_file():
            pytest.fail(f"the shipped {kind} model is missing: models/{kind} (train it with `etl train`)")
    return ROOT / "models"


@pytest.fixture(scope="session")
def bench_notes(tmp_path_factory, shared_data) -> Path:
    """4 shared notes of 250-600 characters as Parquet: several windows each, and triples with the
    shipped models (the first rows of the input are one-line sections that give none)."""
    table = pq.read_table(shared_data / "notes" / "ccks2017_notes.parquet")
    rows = [r for r in table.to_pylist() if 250 <= len(r["text"]) <= 600][:4]
    path = tmp_path_factory.mktemp("bench-notes") / "notes.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path
