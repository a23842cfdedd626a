"""bench/surgery_mentions.py on the first 8 operations the notes name: the surgery normaliser's links."""
from __future__ import annotations

import json

import pytest

import surgery_mentions


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow


def test_surgery_links_of_the_notes_operations(shipped_models, tmp_path):
    out, pairs = tmp_path / "surgery.json", tmp_path / "pairs"
    surgery_mentions.main(["--limit", "8", "--sample", "3", "--pairs-dir", str(pairs), "--json", str(out)])
    f = json.loads(out.read_text(encoding="utf-8"))
    assert f["mentions"] == 8
    assert 0 <= f["with_concept"] <= 8 and f["links"] >= f["with_concept"]
    assert len(f["without_concept"]) == f["mentions"] - f["with_concept"]
    assert all("术" in name for name in f["without_concept"])  # operations, as the notes write them
    assert f["share_with_concept"] == round(f["with_concept"] / 8, 4)
    assert f["min_score"] == 0.8  # config.toml's normalizer.surgery.min_score
    assert f["normalizer"].startswith("normalizer-")
    lines = (pairs / "surgery_mention_pairs.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "mention\tconcept\tcode\tscore" and len(lines) - 1 == min(3, f["links"])
    assert all(float(line.split("\t")[3]) >= f["min_score"] for line in lines[1:])
