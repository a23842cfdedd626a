"""Why FalkorDB's cost per triple grows with the graph: one 10,000-triple write timed statement kind
by statement kind (wall, and the server's own execution time from the reply) when the graph holds
~100k triples and again at ~300k, with the client's cProfile of the same write.

    .venv/bin/python bench/profile_growth.py [--top 20]

Same synthetic triples as bench_sinks.py (one pool of names for the whole 310k, so entities gain
evidence as the graph grows, as popular findings do in real notes).
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sinks import cpu_seconds, falkordb_store, synthetic, write_all  # noqa: E402

from etl.graph import falkordb_sink  # noqa: E402
from etl.schema import load_schema  # noqa: E402


def kind(name: str) -> str:
    """Statement kinds: the 53 edge groups and 11 entity labels each count as one."""
    if "->" in name:
        return name.split(" ")[0] + " edges"
    if name.endswith(" nodes") and name.startswith(("merge ", "create ")):
        return name.split(" ")[0] + " nodes"
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top", type=int, default=20, help="client functions shown (cProfile, cumulative)")
    args = parser.parse_args()
    docs = synthetic(310_000)
    stats: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0])

    def timed(sink, statement):
        tick = time.perf_counter()
        result = sink.graph.query(falkordb_sink.cypher_header(statement.params) + statement.text)
        entry = stats[kind(statement.name)]
        entry[0] += 1
        entry[1] += time.perf_counter() - tick
        entry[2] += result.run_time_ms / 1000
        return falkordb_sink.result_rows(result)

    untimed = falkordb_sink.FalkorDBSink._run
    with falkordb_store(load_schema(), 2000) as (make, _, pid):
        sink = make()
        sink.init_schema()
        done = 0
        for size in (100_000, 300_000):
            fill = (size - 10_000) // 20  # documents of 20 triples before the timed write
            write_all(sink, docs[done:fill], 500)
            stats.clear()
            falkordb_sink.FalkorDBSink._run = timed
            client, server, start = cpu_seconds(None), cpu_seconds(pid), time.perf_counter()
            profile = cProfile.Profile()
            profile.enable()
            write_all(sink, docs[fill:fill + 500], 500)
            profile.disable()
            falkordb_sink.FalkorDBSink._run = untimed
            done = fill + 500
            print(f"== 10,000 triples written into a graph of {fill * 20:,}: wall {time.perf_counter() - start:.2f} s, "
                  f"client CPU {cpu_seconds(None) - client:.2f} s, server CPU {cpu_seconds(pid) - server:.2f} s")
            for name, (n, wall, server_exec) in sorted(stats.items(), key=lambda kv: -kv[1][1]):
                print(f"  {name:24s} statements {n:3d}  wall {wall:6.3f} s  server execution {server_exec:6.3f} s")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
