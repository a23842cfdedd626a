"""Read what the assertion stage decided, in the notes: the counts of present / absent / possible
subjects and objects in a `--triples-out` file, then N random triples of each kind with each end
shown in its note (18 characters before, the span in brackets, 8 after), for a person to judge.

A triple is `present` when both ends are, `absent` when either end is, `possible` otherwise (the
graph's rule, etl/graph/batch.py). Reading aid, not a metric: the judgement is the reader's.

    .venv/bin/etl run --input ../shared/data/notes/ccks2017_notes.parquet --triples-out var/t.parquet
    .venv/bin/python bench/assertion_sample.py var/t.parquet [--notes ...] [--n 20] [--seed 7]
                                               [--kinds present] [--context 18]

`--kinds present --n 80` is the reading of issue 27: 80 random asserted triples (the typed
relationships of the graph) against their notes.
"""
from __future__ import annotations

import argparse
import collections
import random
from pathlib import Path

import pyarrow.parquet as pq

NOTES = Path(__file__).resolve().parents[2] / "shared" / "data" / "notes" / "ccks2017_notes.parquet"


def kind(row: dict) -> str:
    ends = (row["subject_assertion"], row["object_assertion"])
    return "present" if ends == ("present", "present") else "absent" if "absent" in ends else "possible"


def in_note(text: str, start: int, end: int, before: int = 18) -> str:
    return (text[max(0, start - before):start] + "[" + text[start:end] + "]" + text[end:end + 8]).replace("\n", " ")


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("triples", type=Path)
    args.add_argument("--notes", type=Path, default=NOTES)
    args.add_argument("--n", type=int, default=20)
    args.add_argument("--seed", type=int, default=7)
    args.add_argument("--kinds", default="present,absent,possible", help="comma-separated kinds to sample")
    args.add_argument("--context", type=int, default=18, help="characters shown before each end")
    a = args.parse_args(argv)
    rows = pq.read_table(a.triples).to_pylist()
    notes = {r["doc_id"]: r["text"] for r in pq.read_table(a.notes, columns=["doc_id", "text"]).to_pylist()}
    by_kind = collections.defaultdict(list)
    for row in rows:
        by_kind[kind(row)].append(row)
    print(f"{len(rows)} triples:", {k: len(v) for k, v in sorted(by_kind.items())})
    for role in ("subject", "object"):
        print(f"{role}s:", dict(collections.Counter(r[f"{role}_assertion"] for r in rows).most_common()))
    rng = random.Random(a.seed)
    for k in a.kinds.split(","):
        print(f"===== {k}")
        for i, r in enumerate(rng.sample(by_kind[k], min(a.n, len(by_kind[k]))), 1):
            text = notes[r["doc_id"]]
            print(f"{i:2} {r['subject']}({r['subject_assertion']}) -{r['predicate']}-> "
                  f"{r['object']}({r['object_assertion']})")
            print(f"     {r['doc_id']} S:", in_note(text, r["subject_start"], r["subject_end"], a.context),
                  " O:", in_note(text, r["object_start"], r["object_end"], a.context))


if __name__ == "__main__":
    main()
