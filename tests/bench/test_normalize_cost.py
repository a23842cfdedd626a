"""bench/normalize_cost.py at 4 notes: one `etl run`, the normalisers' share of it, the graph's links."""
from __future__ import annotations

import json

import pytest

import normalize_cost


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow


def test_normalisation_cost_and_links(shipped_models, bench_notes, tmp_path):
    out, pairs = tmp_path / "normalize.json", tmp_path / "pairs"
    normalize_cost.main(["--input", str(bench_notes), "--sample", "2", "--pairs-dir", str(pairs), "--json", str(out)])
    f = json.loads(out.read_text(encoding="utf-8"))
    assert f["documents"] == 4
    assert f["load_normalizer_seconds"] > 0 and f["normalize_seconds"] >= 0
    share = (f["load_normalizer_seconds"] + f["normalize_seconds"]) / f["wall_seconds"]
    assert 0 < f["normalization_share_of_wall"] < 1
    assert abs(f["normalization_share_of_wall"] - share) < 0.02  # the inputs are rounded
    assert f["normalizer"].startswith("normalizer-") and f["surgery"]["normalizer"].startswith("normalizer-")
    for label, figures, name in (("Disease", f, "normalized_pairs.tsv"),
                                 ("Surgery", f["surgery"], "normalized_pairs_surgery.tsv")):
        entities = figures["disease_entities"] if label == "Disease" else figures["entities"]
        assert 0 <= figures["with_concept"] <= entities
        assert figures["links"] >= figures["with_concept"]
        lines = (pairs / name).read_text(encoding="utf-8").splitlines()
        assert lines[0] == "entity\tconcept\tcode\tscore\tsentence"
        assert len(lines) - 1 == min(2, figures["links"])
        assert figures["sample_file"] == str(pairs / name)
    assert f["disease_entities"] > 0  # the notes name diseases: the run found some
