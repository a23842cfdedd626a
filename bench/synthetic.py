"""The inputs the benchmarks make, in one place, so that two benches measuring the same thing read
the same data and a smoke test can make them at a tiny size:

- `first_rows`: the first N notes of a Parquet input (every bench's `--rows`: tiny runs, and
  bench_ray.py's small run against the whole input);
- `replicate_notes`: an input N times as large whose rows the ledger has never seen (memory.py);
- `sink_documents`: documents with their evidence as the sinks receive them, following the schema,
  names drawn from pools so that entities and edges repeat as in real text (bench_sinks.py,
  bench_growth.py);
- `cmeie_notes`: CMeIE texts as annotated notes, their triples the annotation, so that `etl run`'s
  path can score them as it scores the notes (quality.py).
"""
from __future__ import annotations

import random
from pathlib import Path


def first_rows(source: str | Path, rows: int, target: str | Path) -> Path:
    """The first `rows` rows of `source` written to `target`; `source` itself when `rows` <= 0."""
    if rows <= 0:
        return Path(source)
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(source).slice(0, rows), target)
    return Path(target)


def replicate_notes(source: str | Path, times: int, target: str | Path) -> int:
    """`source` written `times` over to `target`, each copy under new ids (`<id>-copy<n>`), as an
    input `times` as large whose rows the ledger has never seen; returns the rows of one copy."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(source)
    with pq.ParquetWriter(target, table.schema) as writer:
        for copy in range(times):
            ids = pc.binary_join_element_wise(table["doc_id"], pa.scalar(f"copy{copy}"), "-")
            writer.write_table(table.set_column(table.schema.get_field_index("doc_id"), "doc_id", ids))
    return table.num_rows


def sink_documents(n_triples: int, per_doc: int = 20, seed: int = 7, absent: float = 0.0, possible: float = 0.0,
                   names: str = "uniform"):
    """[(Document, [Evidence])], `n_triples` evidence rows in all, deterministic. Names from pools
    of n_triples / 40 per type (at least 50), drawn uniformly (every entity ends with the same few
    links whatever the size) or, with names="zipf", log-uniformly: name i about as likely as 1/i,
    the first of a pool in ~1 mention of 9, as common findings (发热, 咳嗽) are in real notes; their
    links grow with the graph. `absent` / `possible`: that share of the objects is denied /
    possible (kept as evidence, no typed relationship of its own)."""
    from etl.records import Document, Evidence
    from etl.schema import load_schema

    schema = load_schema()
    rng = random.Random(seed)
    flags = random.Random(seed + 1)  # its own stream: the triples do not depend on the shares
    triples = list(schema.triples)
    pools = {name: max(50, n_triples // 40) for name in schema.entity_types}

    def pick(kind: str) -> int:
        if names == "zipf":
            return int(pools[kind] ** rng.random()) - 1
        return rng.randrange(pools[kind])
    docs, made = [], 0
    while made < n_triples:
        doc_id = f"doc-{len(docs):07d}"
        rows = []
        for i in range(min(per_doc, n_triples - made)):
            t = rng.choice(triples)
            s = f"{t.subject_type}{pick(t.subject_type)}"
            o = f"{t.object_type}{pick(t.object_type)}"
            start = i * 30
            draw = flags.random()
            assertion = "absent" if draw < absent else "possible" if draw < absent + possible else "present"
            rows.append(Evidence(doc_id, s, t.subject_type, t.predicate, o, t.object_type,
                                 round(rng.uniform(0.5, 1.0), 4), start, start + len(s), start + 10,
                                 start + 10 + len(o), f"{s}……{o}", start, start + 30, "rel-bench", "span-bench",
                                 object_assertion=assertion, assertion_model="assert-bench"))
        made += len(rows)
        docs.append((Document(doc_id, "bench.parquet", f"h{len(docs)}", {"section": "bench"},
                              {"relation": "rel-bench", "spans": "span-bench"}), rows))
    return docs


def cmeie_notes(samples, prefix: str = "cmeie-dev") -> list:
    """CMeIE samples as EMR-RE notes (`<prefix>-<i>`), each sample's triples its annotation."""
    from etl.data.emr_re import Note, NoteTriple

    return [Note(f"{prefix}-{i}", x.text, tuple(NoteTriple(t.subject, t.subject_type, t.predicate, t.object,
                                                          t.object_type) for t in x.triples))
            for i, x in enumerate(samples)]
