"""What normalisation costs and gives on the shared notes: one `etl run` into a fresh embedded
FalkorDB (subprocess, as cron runs it), then the graph read back.

    .venv/bin/python bench/normalize_cost.py [--input notes.parquet] [--sample 50] [--seed 7] [--json out.json]

Prints the run's wall time, the normaliser's load and normalise stage times and their share of the
wall time (issue 28's target: <= 10%), the share of Disease entities given a concept, and writes
`--sample` random (entity, concept) pairs, with a note that names the entity, to
var/bench/normalized_pairs.tsv for reading by hand.
"""
from __future__ import annotations

import random
import tempfile
from pathlib import Path

from common import ROOT, emit, parser
from end_to_end import run_etl


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--sample", type=int, default=50)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        wall, report, _ = run_etl(args.input, args.config, workdir)
        stages = report["stage_seconds"]
        cost = stages.get("load_normalizer", 0.0) + stages.get("normalize", 0.0)
        from etl.config import load_settings
        from etl.graph import open_sink

        settings = load_settings(args.config, {"graph.falkordb.data_dir": str(workdir / "graph")})
        with open_sink(settings.graph) as sink:
            diseases = sink.query("MATCH (d:Disease) OPTIONAL MATCH (d)-[r:NORMALIZED_TO]->(k:Concept) "
                                  "RETURN d.name AS entity, collect(k.name) AS concepts, collect(k.code) AS codes, "
                                  "collect(r.score) AS scores")
            contexts = {row["entity"]: row["sentence"] for row in sink.query(
                "MATCH (ev:Evidence)-[:SUBJECT|OBJECT]->(d:Disease) RETURN d.name AS entity, ev.sentence AS sentence")}
    linked = [d for d in diseases if d["concepts"]]
    pairs = [(d["entity"], name, code, score) for d in linked
             for name, code, score in zip(d["concepts"], d["codes"], d["scores"])]
    sample = random.Random(args.seed).sample(pairs, min(args.sample, len(pairs)))
    out = ROOT / "var" / "bench" / "normalized_pairs.tsv"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("entity\tconcept\tcode\tscore\tsentence\n" + "".join(
        f"{e}\t{k}\t{c or ''}\t{s}\t{contexts.get(e, '')}\n" for e, k, c, s in sample), encoding="utf-8")
    emit({
        "input": args.input, "wall_seconds": round(wall, 1), "documents": report["documents_extracted"],
        "load_normalizer_seconds": round(stages.get("load_normalizer", 0.0), 2),
        "normalize_seconds": round(stages.get("normalize", 0.0), 2),
        "normalization_share_of_wall": round(cost / wall, 4),
        "disease_entities": len(diseases), "with_concept": len(linked),
        "share_with_concept": round(len(linked) / max(len(diseases), 1), 4),
        "links": len(pairs), "normalizer": report["model_versions"].get("normalizer"),
        "sample_file": str(out.relative_to(ROOT)),
    }, args.json_out)


if __name__ == "__main__":
    main()
