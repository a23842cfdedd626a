"""bench/bench_ray.py at 2 and 4 notes: `etl run --engine ray` against `--engine local`, each a
subprocess that starts its own local Ray (about a minute: two Ray starts, one model actor each)."""
from __future__ import annotations

import json

import pytest

import bench_ray


# the bench end to end at its smallest size, on real components: `make test` only, not `make check`
pytestmark = pytest.mark.slow


def test_ray_against_local_on_two_sizes(shipped_models, bench_notes, tmp_path):
    out = tmp_path / "ray.json"
    bench_ray.main(["--input", str(bench_notes), "--small", "2", "--actors", "1", "--json", str(out)])
    f = json.loads(out.read_text(encoding="utf-8"))
    assert (f["rows"], f["small_rows"], f["ray_actors"]) == (4, 2, 1)
    runs = {(r["engine"], r["input"]): r for r in f["runs"]}
    assert set(runs) == {(e, i) for e in ("local", "ray") for i in ("small", "all")}
    for size, documents in (("small", 2), ("all", 4)):
        local, ray = runs[("local", size)], runs[("ray", size)]
        assert local["documents"] == ray["documents"] == documents
        assert local["triples"] == ray["triples"]  # the same extraction on both engines
        for r in (local, ray):
            assert r["process_seconds"] > r["pipeline_seconds"] > 0
            # No order between the two: the driver's is its high-water mark (VmHWM), the tree's a
            # sampled sum of VmRSS, which can miss the driver's peak by a few MiB.
            assert r["peak_rss_driver_mib"] > 0 and r["peak_rss_all_mib"] > 0
        assert ray["processes_at_peak"] > local["processes_at_peak"]  # Ray's GCS, raylet, the actor...
    assert runs[("ray", "all")]["model_stage_seconds"] > 0
    assert set(f["fit_process_seconds"]) == {"local", "ray"}
    assert f["ray_over_local_process"] == round(runs[("ray", "all")]["process_seconds"]
                                                / runs[("local", "all")]["process_seconds"], 2)
    assert f["triples_per_document"] == round(runs[("ray", "all")]["triples"] / 4, 3)
