"""How FalkorDB's cost per triple grows with the graph, measured so that the machine's noise cancels:
two graphs in one private server, filled to ~100k and ~300k triples, then 10,000-triple writes
sent to the two in turn (small, large, small, large...), each timed (wall, client CPU, server
CPU). The ratio large / small of the summed costs is the growth; a neighbour's burst hits both.

    .venv/bin/python bench/bench_growth.py [--sizes 100000,300000] [--rounds 4] [--names uniform|zipf]
                                           [--module-args "DELTA_MAX_PENDING_CHANGES 100000"] [--json PATH]

Same synthetic triples as bench_sinks.py (synthetic.sink_documents; each graph with its own pools of
size / 40 names), the same sink and write size (500 documents, ~10,000 triples per write). The
growth bound of issue 16 is 1.2x from 100k to 300k triples; bench_sinks.py's two sizes, minutes
apart, moved by 0.98-1.38 between runs of the same code on the shared machine, this by far less.
Tiny run: `--sizes 200,400 --rounds 1 --docs-per-write 5`.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sinks import cpu_seconds, write_all  # noqa: E402
from common import emit  # noqa: E402
from synthetic import sink_documents  # noqa: E402

from etl.config import FalkorDBSettings  # noqa: E402
from etl.graph.falkordb.server import FalkorDBServer  # noqa: E402
from etl.graph.falkordb.sink import FalkorDBSink  # noqa: E402
from etl.schema import load_schema  # noqa: E402


def ratio(large: float, small: float) -> float | None:
    """large / small, or None where the clock saw nothing (tiny runs: the CPU clock's tick is 10 ms)."""
    return round(large / small, 2) if small else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000", help="the two graphs' sizes before the timed writes")
    parser.add_argument("--rounds", type=int, default=4, help="timed writes per graph")
    parser.add_argument("--names", choices=("uniform", "zipf"), default="uniform")
    parser.add_argument("--docs-per-write", type=int, default=500, help="documents (~20 triples each) per timed write")
    parser.add_argument("--module-args", default="", help="FalkorDB load-time arguments, e.g. 'OMP_THREAD_COUNT 1'")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    per_write = args.docs_per_write
    extra = args.rounds * per_write * 20
    schema = load_schema()
    with tempfile.TemporaryDirectory() as tmp, \
            FalkorDBServer(Path(tmp) / "db", module_args=tuple(args.module_args.split())) as server:
        graphs = []
        for size in sizes:
            docs = sink_documents(size + extra, names=args.names)
            sink = FalkorDBSink(schema, replace(FalkorDBSettings(), graph_name=f"g{size}"), 2000, server=server)
            sink.init_schema()
            fill = size // 20
            written, seconds = write_all(sink, docs[:fill], per_write)
            print(f"graph of {written} triples filled in {seconds:.0f} s", flush=True)
            graphs.append({"size": size, "sink": sink, "docs": docs[fill:], "wall": 0.0, "client": 0.0,
                           "server": 0.0, "triples": 0})
        for round_ in range(args.rounds):
            for g in graphs:
                chunk = g["docs"][round_ * per_write:(round_ + 1) * per_write]
                client, srv, tick = cpu_seconds(None), cpu_seconds(server.process.pid), time.perf_counter()
                written, _ = write_all(g["sink"], chunk, per_write)
                g["wall"] += time.perf_counter() - tick
                g["client"] += cpu_seconds(None) - client
                g["server"] += cpu_seconds(server.process.pid) - srv
                g["triples"] += written
        rows = []
        for g in graphs:
            per = {k: 1e6 * g[k] / g["triples"] for k in ("wall", "client", "server")}
            rows.append({"graph_triples": g["size"], "timed_triples": g["triples"],
                         **{f"{k}_us_per_triple": round(v, 1) for k, v in per.items()}})
            print(f"at {g['size']:>7} triples: {g['triples']} timed, per triple wall {per['wall']:.0f} us, "
                  f"client {per['client']:.0f} us, server {per['server']:.0f} us", flush=True)
        small, large = rows[0], rows[-1]
        ratios = {k: ratio(large[f"{k}_us_per_triple"], small[f"{k}_us_per_triple"])
                  for k in ("wall", "client", "server")}
        ratios["cpu"] = ratio(large["client_us_per_triple"] + large["server_us_per_triple"],
                              small["client_us_per_triple"] + small["server_us_per_triple"])
        print(f"per-triple cost at {large['graph_triples']} / at {small['graph_triples']}: " +
              ", ".join(f"{k} {v}" for k, v in ratios.items()), flush=True)
        for g in graphs:
            g["sink"].close()
    emit({"args": vars(args), "rows": rows, "ratios": ratios}, args.json_out)


if __name__ == "__main__":
    main()
