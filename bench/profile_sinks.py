"""Where a sink's write time goes: every statement of a few batches run under the store's profiler.

    .venv/bin/python bench/profile_sinks.py [--triples 20000] [--stores falkordb,neo4j] [--top 12]

Writes synthetic triples (bench_sinks.synthetic) batch by batch; the last batch (the graph already
holds the others) runs each statement under PROFILE (Neo4j) / GRAPH.PROFILE (FalkorDB). Prints,
per statement kind (begin, merge nodes, write evidence, refresh, ...): statements, rows, seconds,
and the operators that matter for a write (Eager, label or all-node scans, cartesian products,
index seeks), then the slowest statements with their plans. Neo4j: the test server from
tools/neo4j-server, or NEO4J_TEST_URI.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sinks import falkordb_store, neo4j_store, synthetic  # noqa: E402

from etl.schema import load_schema  # noqa: E402

WATCH = ("Eager", "NodeByLabelScan", "AllNodesScan", "CartesianProduct", "NodeIndexSeek",
         "NodeUniqueIndexSeek", "Label Scan", "All Node Scan", "Cartesian Product", "Node By Index Scan")


def kind_of(name: str) -> str:
    """'merge Disease-HAS_SYMPTOM->Symptom' -> 'merge edges', 'adjust nodes' -> 'adjust nodes'; 'write ... evidence' -> 'write evidence'."""
    words = name.split()
    if words[0] in ("merge", "adjust", "refresh", "prune") and "-" in words[1]:
        return f"{words[0]} edges"
    if words[0] in ("merge", "create", "adjust", "refresh", "prune") and words[-1] == "nodes":
        return f"{words[0]} nodes"
    if words[0] == "write" and words[-1] == "evidence":
        return "write evidence"
    return " ".join(words[:2]) if len(words) > 1 and words[0] in ("find", "delete", "write") else words[0]


def neo4j_plan(profile: dict) -> tuple[list[str], int]:
    ops, hits = [], 0

    def walk(node):
        nonlocal hits
        ops.append(node.get("operatorType", "?").split("@")[0])
        hits += int(node.get("args", {}).get("DbHits", node.get("dbHits", 0)) or 0)
        for child in node.get("children", []):
            walk(child)
    walk(profile)
    return ops, hits


def profiled_runner(kind: str, sink, log: list):
    if kind == "neo4j":
        real_runner = sink._runner

        def runner(tx):
            def run(statement):
                start = time.perf_counter()
                result = tx.run("PROFILE " + statement.text, statement.params)
                rows = [record.data() for record in result]
                summary = result.consume()
                seconds = time.perf_counter() - start
                ops, hits = neo4j_plan(summary.profile or {})
                log.append((statement, seconds, len(statement.params.get("rows", [])), ops, hits))
                return rows
            return run
        sink._runner = runner
        return lambda: setattr(sink, "_runner", real_runner)
    real_run = sink._run

    def run(statement):
        start = time.perf_counter()
        plan = sink.graph.profile(statement.text, statement.params)
        seconds = time.perf_counter() - start
        ops = [re.sub(r"\s*\|.*", "", line).strip() for line in plan.plan]
        log.append((statement, seconds, len(statement.params.get("rows", [])), ops, 0))
        # GRAPH.PROFILE runs the statement (it writes) but returns no rows: reads are run again.
        return real_run(statement) if statement.name.startswith(("find", "read")) else []
    sink._run = run
    return lambda: sink.__dict__.pop("_run", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triples", type=int, default=20_000)
    parser.add_argument("--docs-per-batch", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--stores", default="falkordb,neo4j")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    schema = load_schema()
    docs = synthetic(args.triples)
    *before, last = [docs[i:i + args.docs_per_batch] for i in range(0, len(docs), args.docs_per_batch)]
    for kind in args.stores.split(","):
        store = falkordb_store(schema, args.batch_size) if kind == "falkordb" else \
            neo4j_store(schema, args.batch_size, "2g", "1g")
        with store as (make, where, _pid):
            sink = make()
            sink.init_schema()
            start = time.perf_counter()
            for chunk in before:
                sink.write_documents([d for d, _ in chunk], [e for _, rows in chunk for e in rows], run_id="p")
            plain = time.perf_counter() - start
            log: list = []
            undo = profiled_runner(kind, sink, log)
            start = time.perf_counter()
            sink.write_documents([d for d, _ in last], [e for _, rows in last for e in rows], run_id="p")
            profiled = time.perf_counter() - start
            undo()
            n_last = sum(len(rows) for _, rows in last)
            print(f"\n== {kind}: {where}\n   {args.triples - n_last} triples in {plain:.1f} s before; the last "
                  f"batch ({n_last} triples, {len(log)} statements) profiled in {profiled:.1f} s")
            by_kind: dict[str, list] = defaultdict(lambda: [0, 0, 0.0, 0, defaultdict(int)])
            for statement, seconds, rows, ops, hits in log:
                entry = by_kind[kind_of(statement.name)]
                entry[0] += 1
                entry[1] += rows
                entry[2] += seconds
                entry[3] += hits
                for op in ops:
                    if any(w in op for w in WATCH):
                        entry[4][op] += 1
            print(f"   {'statement kind':<16} {'n':>4} {'rows':>7} {'seconds':>8} {'db hits':>10}  operators")
            for name, (n, rows, seconds, hits, ops) in sorted(by_kind.items(), key=lambda kv: -kv[1][2]):
                print(f"   {name:<16} {n:>4} {rows:>7} {seconds:>8.2f} {hits:>10}  "
                      + ", ".join(f"{op} x{c}" for op, c in sorted(ops.items())))
            print("   slowest statements:")
            for statement, seconds, rows, ops, hits in sorted(log, key=lambda x: -x[1])[:args.top]:
                print(f"   {seconds:7.3f} s {rows:>5} rows {hits:>9} hits  {statement.name}: {' <- '.join(ops)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
