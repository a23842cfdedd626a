"""What pausing Python's cycle collector during a write (sink.collector_paused) saves, measured
within one run: one private FalkorDB with a graph of ~100k triples, then 10,000-triple writes
alternately with the pause (as shipped) and without it (the pause replaced by a no-op), each timed
(wall, client CPU, server CPU). The client process holds the synthetic input, as `etl run` holds
its models: a heap of a few hundred thousand objects for each collection to walk.

    .venv/bin/python bench/bench_collector.py [--size 100000] [--rounds 4] [--json PATH]
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sinks import cpu_seconds, synthetic, write_all  # noqa: E402
from common import emit  # noqa: E402

from etl.config import FalkorDBSettings  # noqa: E402
from etl.graph import sink as sink_module  # noqa: E402
from etl.graph.falkordb_server import FalkorDBServer  # noqa: E402
from etl.graph.falkordb_sink import FalkorDBSink  # noqa: E402
from etl.schema import load_schema  # noqa: E402

DOCS_PER_WRITE = 500  # ~10,000 triples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="triples in the graph before the timed writes")
    parser.add_argument("--rounds", type=int, default=4, help="timed writes per variant")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    paused = sink_module.collector_paused
    variants = {"collector paused (shipped)": paused, "collector running": contextlib.nullcontext}
    docs = synthetic(args.size + 2 * args.rounds * DOCS_PER_WRITE * 20)
    fill = args.size // 20
    with tempfile.TemporaryDirectory() as tmp, FalkorDBServer(Path(tmp) / "db") as server:
        sink = FalkorDBSink(load_schema(), replace(FalkorDBSettings(), graph_name="g"), 2000, server=server)
        sink.init_schema()
        written, seconds = write_all(sink, docs[:fill], DOCS_PER_WRITE)
        print(f"graph of {written} triples filled in {seconds:.0f} s", flush=True)
        totals = {name: {"wall": 0.0, "client": 0.0, "server": 0.0, "triples": 0} for name in variants}
        start = fill
        for _ in range(args.rounds):
            for name, pause in variants.items():
                sink_module.collector_paused = pause
                chunk, start = docs[start:start + DOCS_PER_WRITE], start + DOCS_PER_WRITE
                client, srv, tick = cpu_seconds(None), cpu_seconds(server.process.pid), time.perf_counter()
                written, _ = write_all(sink, chunk, DOCS_PER_WRITE)
                t = totals[name]
                t["wall"] += time.perf_counter() - tick
                t["client"] += cpu_seconds(None) - client
                t["server"] += cpu_seconds(server.process.pid) - srv
                t["triples"] += written
        sink_module.collector_paused = paused
        sink.close()
    rows = []
    for name, t in totals.items():
        per = {k: round(1e6 * t[k] / t["triples"], 1) for k in ("wall", "client", "server")}
        rows.append({"variant": name, "timed_triples": t["triples"], **{f"{k}_us_per_triple": v for k, v in per.items()}})
        print(f"{name:28} {t['triples']} triples: per triple wall {per['wall']:.0f} us, client {per['client']:.0f} us, "
              f"server {per['server']:.0f} us", flush=True)
    ratios = {k: round(rows[0][f"{k}_us_per_triple"] / rows[1][f"{k}_us_per_triple"], 2) for k in ("wall", "client", "server")}
    print("paused / running: " + ", ".join(f"{k} {v}" for k, v in ratios.items()), flush=True)
    emit({"args": vars(args), "rows": rows, "ratios": ratios}, args.json_out)


if __name__ == "__main__":
    main()
