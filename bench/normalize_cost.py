"""What normalisation costs and gives on the shared notes: one `etl run` into a fresh embedded
FalkorDB (subprocess, as cron runs it), then the graph read back.

    .venv/bin/python bench/normalize_cost.py [--input notes.parquet] [--rows N] [--sample 50] [--seed 7]
                                             [--pairs-dir var/bench] [--json out.json]

Prints the run's wall time, the normaliser's load and normalise stage times and their share of the
wall time (issue 28's target: <= 10%), the share of Disease and of Surgery entities given a
concept, and writes `--sample` random (entity, concept) pairs of each, with a note that names the
entity, to var/bench/normalized_pairs.tsv (Disease) and var/bench/normalized_pairs_surgery.tsv
(Surgery) for reading by hand (`--pairs-dir`: another folder). MODELS.md reproduces its figures
of both normalisers with it; a new normaliser or a change to the run is measured again with it.
"""
from __future__ import annotations

import random
import tempfile
from pathlib import Path

from common import ROOT, emit, input_notes, parser, shown
from end_to_end import run_etl


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--sample", type=int, default=50)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--pairs-dir", type=Path, default=ROOT / "var" / "bench", help="where the pairs to read go")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        wall, report, _ = run_etl(input_notes(args, workdir), args.config, workdir)
        stages = report["stage_seconds"]
        cost = stages.get("load_normalizer", 0.0) + stages.get("normalize", 0.0)
        from etl.config import load_settings
        from etl.graph import open_sink

        settings = load_settings(args.config, {"graph.falkordb.data_dir": str(workdir / "graph")})
        with open_sink(settings.graph) as sink:
            figures = {label: read_label(sink, label, args.sample, args.seed, args.pairs_dir / out)
                       for label, out in (("Disease", "normalized_pairs.tsv"),
                                          ("Surgery", "normalized_pairs_surgery.tsv"))}
    disease = figures["Disease"]
    emit({
        "input": args.input, "wall_seconds": round(wall, 1), "documents": report["documents_extracted"],
        "load_normalizer_seconds": round(stages.get("load_normalizer", 0.0), 2),
        "normalize_seconds": round(stages.get("normalize", 0.0), 2),
        "normalization_share_of_wall": round(cost / wall, 4),
        "disease_entities": disease["entities"], "with_concept": disease["with_concept"],
        "share_with_concept": disease["share_with_concept"], "links": disease["links"],
        "normalizer": report["model_versions"].get("normalizer"), "sample_file": disease["sample_file"],
        "surgery": dict(figures["Surgery"], normalizer=report["model_versions"].get("normalizer_surgery")),
    }, args.json_out)


def read_label(sink, label: str, size: int, seed: int, out: Path) -> dict:
    """The share of `label` entities with a concept, and `size` random links written to `out`."""
    entities = sink.query(f"MATCH (d:{label}) OPTIONAL MATCH (d)-[r:NORMALIZED_TO]->(k:Concept) "
                          "RETURN d.name AS entity, collect(k.name) AS concepts, collect(k.code) AS codes, "
                          "collect(r.score) AS scores")
    contexts = {row["entity"]: row["sentence"] for row in sink.query(
        f"MATCH (ev:Evidence)-[:SUBJECT|OBJECT]->(d:{label}) RETURN d.name AS entity, ev.sentence AS sentence")}
    linked = [d for d in entities if d["concepts"]]
    pairs = [(d["entity"], concept, code, score) for d in linked
             for concept, code, score in zip(d["concepts"], d["codes"], d["scores"])]
    sample = random.Random(seed).sample(pairs, min(size, len(pairs)))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("entity\tconcept\tcode\tscore\tsentence\n" + "".join(
        f"{e}\t{k}\t{c or ''}\t{s}\t{contexts.get(e, '')}\n" for e, k, c, s in sample), encoding="utf-8")
    return {"entities": len(entities), "with_concept": len(linked),
            "share_with_concept": round(len(linked) / max(len(entities), 1), 4), "links": len(pairs),
            "sample_file": shown(out)}



if __name__ == "__main__":
    main()
