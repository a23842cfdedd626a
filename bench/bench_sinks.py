"""Write rate of the graph sinks: 100k synthetic triples (evidence rows), triples per second.

    .venv/bin/python bench/bench_sinks.py [--triples 100000] [--docs-per-batch 500] [--batch-size 2000]

- FalkorDB (native protocol): a private server in a temporary folder, as `etl run` uses it.
- Neo4j writer: against a real Neo4j when NEO4J_TEST_URI (+ NEO4J_TEST_USER, NEO4J_TEST_PASSWORD,
  NEO4J_TEST_DATABASE) is set; its database is emptied first. Otherwise reported as not measured.
- `--bolt N`: also the Neo4j writer through FalkorDB 4.16's Bolt listener, on N triples, one
  document (10 triples) per write and 4-row UNWIND batches (parameters over ~4 KB crash that
  listener; one evidence row is ~0.7 KB): a plumbing figure, not a Neo4j figure.
The triples follow the schema (53 label/type groups), names drawn from pools so entities and edges
repeat as in real text; each document holds ~20 triples. `--absent F` / `--possible F`: that share
of the triples has an absent / possible object (kept as evidence, no typed relationship of its own).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from etl.config import FalkorDBSettings, Neo4jSettings  # noqa: E402
from etl.graph.records import Document, Evidence  # noqa: E402
from etl.schema import load_schema  # noqa: E402


def synthetic(n_triples: int, per_doc: int = 20, seed: int = 7, absent: float = 0.0, possible: float = 0.0):
    """Documents with their evidence, deterministic."""
    schema = load_schema()
    rng = random.Random(seed)
    flags = random.Random(seed + 1)  # its own stream: the triples do not depend on the shares
    triples = list(schema.triples)
    pools = {name: max(50, n_triples // 40) for name in schema.entity_types}
    docs, made = [], 0
    while made < n_triples:
        doc_id = f"doc-{len(docs):07d}"
        rows = []
        for i in range(min(per_doc, n_triples - made)):
            t = rng.choice(triples)
            s = f"{t.subject_type}{rng.randrange(pools[t.subject_type])}"
            o = f"{t.object_type}{rng.randrange(pools[t.object_type])}"
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


def write_all(sink, docs, docs_per_batch: int) -> tuple[int, float]:
    total, start = 0, time.perf_counter()
    for i in range(0, len(docs), docs_per_batch):
        chunk = docs[i:i + docs_per_batch]
        stats = sink.write_documents([d for d, _ in chunk], [e for _, rows in chunk for e in rows],
                                     run_id="bench-run")
        total += stats.evidence
    return total, time.perf_counter() - start


def report(label: str, total: int, seconds: float) -> None:
    print(f"{label:<58} {total:>7} triples in {seconds:7.1f} s = {total / seconds:8.0f} triples/s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--docs-per-batch", type=int, default=500, help="documents per write (~20 triples each)")
    parser.add_argument("--batch-size", type=int, default=2000, help="rows per UNWIND statement")
    parser.add_argument("--bolt", type=int, default=0, help="also N triples via FalkorDB's Bolt listener")
    parser.add_argument("--skip-falkordb", action="store_true", help="skip the native FalkorDB measurement")
    parser.add_argument("--absent", type=float, default=0.0, help="share of triples with an absent object")
    parser.add_argument("--possible", type=float, default=0.0, help="share of triples with a possible object")
    args = parser.parse_args()
    schema = load_schema()
    docs = synthetic(args.triples, absent=args.absent, possible=args.possible)
    print(f"{args.triples} synthetic triples in {len(docs)} documents; {args.docs_per_batch} documents "
          f"per write, UNWIND batches of {args.batch_size} rows; objects absent {args.absent:.0%}, "
          f"possible {args.possible:.0%}")

    from etl.graph.falkordb_sink import FalkorDBSink
    if not args.skip_falkordb:
        with tempfile.TemporaryDirectory() as tmp:
            settings = replace(FalkorDBSettings(), data_dir=Path(tmp) / "db")
            with FalkorDBSink(schema, settings, args.batch_size) as sink:
                sink.init_schema()
                total, seconds = write_all(sink, docs, args.docs_per_batch)
                report("falkordb (native, private server, first write)", total, seconds)
                total, seconds = write_all(sink, docs, args.docs_per_batch)
                report("falkordb (native, same triples again: replace)", total, seconds)
                counts = sink.stats()
                nodes = sum(v for k, v in counts.items() if not k.isupper() and " " not in k)
                edges = sum(v for k, v in counts.items() if k.isupper())
                print(f"  graph: {nodes} nodes ({counts['Evidence']} of them evidence, "
                      f"{counts['Evidence asserted']} asserted), {edges} typed edges")

    from etl.graph.neo4j_sink import Neo4jSink
    if os.environ.get("NEO4J_TEST_URI"):
        import neo4j
        password = os.environ.get("NEO4J_TEST_PASSWORD")
        if password:
            os.environ["NEO4J_PASSWORD"] = password
        settings = Neo4jSettings(uri=os.environ["NEO4J_TEST_URI"], user=os.environ.get("NEO4J_TEST_USER", "neo4j"),
                                 database=os.environ.get("NEO4J_TEST_DATABASE", "neo4j"))
        with neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user, password) if password else None) as d:
            d.execute_query("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS", database_=settings.database)
        with Neo4jSink(schema, settings, args.batch_size) as sink:
            total, seconds = write_all(sink, docs, args.docs_per_batch)
            report(f"neo4j ({settings.uri})", total, seconds)
    else:
        print("neo4j: not measured (no Neo4j server here; set NEO4J_TEST_URI to measure)")

    if args.bolt:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "graph"))
        from conftest import _free_bolt_port, clear_bolt  # the test helpers for that listener
        from etl.graph.falkordb_server import FalkorDBServer

        small = synthetic(args.bolt, per_doc=10, seed=11)
        port = _free_bolt_port()
        with tempfile.TemporaryDirectory() as tmp, FalkorDBServer(
                Path(tmp), module_args=("BOLT_PORT", str(port)), appendonly=False):
            os.environ.pop("NEO4J_PASSWORD", None)
            settings = Neo4jSettings(uri=f"bolt://127.0.0.1:{port}", init_schema=False)
            with Neo4jSink(schema, settings, 4) as sink:
                total, seconds = write_all(sink, small, 1)
                report("neo4j writer via FalkorDB Bolt listener (4-row batches)", total, seconds)
            clear_bolt(port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
