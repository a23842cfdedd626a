"""The shipped model folders every `etl run` test runs with (tests/run/*)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = {"relation": ROOT / "models" / "relation", "spans": ROOT / "models" / "spans",
          "assertion": ROOT / "models" / "assertion", "normalizer": ROOT / "models" / "normalizer"}


@pytest.fixture(scope="module")
def models():
    for kind, folder in MODELS.items():
        if not (folder / "weights.h5").is_file():
            pytest.fail(f"the shipped demo {kind} model is missing: {folder} (train it with `etl train {kind}`)")
    return MODELS
