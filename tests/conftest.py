"""Shared fixtures: where ../shared/data is, and small real samples cut from it."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "cmeie" / "cmeie_labeled.jsonl").is_file():
        pytest.fail(f"the shared data folder is missing: expected {SHARED_DATA} beside the project")
    return SHARED_DATA


@pytest.fixture(scope="session")
def vocab_path(shared_data) -> Path:
    return shared_data / "vocab" / "chinese_bert_vocab.txt"


@pytest.fixture(scope="session")
def cmeie_samples(shared_data):
    from etl.data.cmeie import read_cmeie

    return list(read_cmeie(shared_data / "cmeie" / "cmeie_labeled.jsonl"))


@pytest.fixture(scope="session")
def schema():
    from etl.schema import load_schema

    return load_schema()
