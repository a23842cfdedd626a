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


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, vocab_path, cmeie_samples, schema) -> dict:
    """Tiny real model folders (tests/tiny_models.py), built once for every test that runs `etl`
    in a subprocess: {"relation": folder, "spans": folder, "texts": short CMeIE texts}."""
    from tiny_models import relation_folder, spans_folder

    root = tmp_path_factory.mktemp("tiny-models")
    samples = [s for s in cmeie_samples if len(s.text) < 60][:6]
    relation_folder(root / "relation", vocab_path, [s.text for s in samples], schema)
    spans_folder(root / "spans", vocab_path, samples)
    return {"relation": root / "relation", "spans": root / "spans", "texts": [s.text for s in samples]}
