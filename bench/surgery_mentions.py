"""The surgery normaliser on the operations the shared notes name: the distinct gold `治疗` mentions of
notes/ccks2017_ner.jsonl that contain 术 (operations, as the notes write them), normalised with the
surgery folder at `normalizer.surgery.min_score`, as `etl run` links Surgery entities.

    .venv/bin/python bench/surgery_mentions.py [--sample 50] [--seed 7] [--limit N] [--pairs-dir var/bench]
                                               [--json out.json]

Prints how many mentions get a concept and writes `--sample` random (mention, concept) links to
var/bench/surgery_mention_pairs.tsv for reading by hand (the graph of one `etl run` holds only the
few operations the extraction models find: bench/normalize_cost.py). MODELS.md's reading of the
surgery normaliser (28 / 50 right) is reproduced with it. `--limit N`: only the first N mentions.
"""
from __future__ import annotations

import json
import random

from pathlib import Path

from common import ROOT, emit, parser, settings, shown


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__, rows=False)
    p.add_argument("--sample", type=int, default=50)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--limit", type=int, default=0, help="only the first N distinct mentions (0: all)")
    p.add_argument("--pairs-dir", type=Path, default=ROOT / "var" / "bench", help="where the pairs to read go")
    args = p.parse_args(argv)
    s = settings(args.config)
    from etl.models.normalizer.model import Normalizer

    mentions: dict[str, None] = {}
    with open(s.data.note_entities, encoding="utf-8") as handle:
        for line in handle:
            for entity in json.loads(line)["entities"]:
                if entity["type"] == "治疗" and "术" in entity["text"]:
                    mentions.setdefault(entity["text"].strip(), None)
    names = list(mentions)[:args.limit] if args.limit > 0 else list(mentions)
    surgery = s.normalizer.surgery
    normalizer = Normalizer.load(surgery.model_dir)
    found = [[m for m in matches if m.score >= surgery.min_score] for matches in normalizer.normalize(names)]
    pairs = [(name, m.name, m.code, round(m.score, 4)) for name, matches in zip(names, found) for m in matches]
    sample = random.Random(args.seed).sample(pairs, min(args.sample, len(pairs)))
    out = args.pairs_dir / "surgery_mention_pairs.tsv"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("mention\tconcept\tcode\tscore\n" + "".join(f"{e}\t{k}\t{c}\t{v}\n" for e, k, c, v in sample),
                   encoding="utf-8")
    emit({"mentions": len(names), "with_concept": sum(1 for m in found if m),
          "share_with_concept": round(sum(1 for m in found if m) / max(len(names), 1), 4), "links": len(pairs),
          "min_score": surgery.min_score, "normalizer": normalizer.version, "sample_file": shown(out),
          "without_concept": [name for name, m in zip(names, found) if not m]}, args.json_out)


if __name__ == "__main__":
    main()
