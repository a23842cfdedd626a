"""How FalkorDB's own operations grow with the graph: the same small statements (index lookups,
property SETs, MERGE) on 2,000 existing entities of a ~100k-triple graph and of a ~300k one, both
in one private server, run in turn so the machine's noise hits both; the server's execution time
from each reply. What the sink's statements are built from, without the sink.

    .venv/bin/python bench/falkordb_op_growth.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sinks import synthetic, write_all  # noqa: E402
from common import emit  # noqa: E402

from etl.config import FalkorDBSettings  # noqa: E402
from etl.graph.falkordb_server import FalkorDBServer  # noqa: E402
from etl.graph.falkordb_sink import FalkorDBSink, cypher_header  # noqa: E402
from etl.schema import load_schema  # noqa: E402

ROWS = 2000
OPERATIONS = {
    "lookup by :Entity(name)": "MATCH (n:Entity {name: row.name}) RETURN count(n)",
    "lookup by :Entity(name), label as a value": "MATCH (n:Entity {name: row.name}) WHERE row.label IN labels(n) RETURN count(n)",
    "lookup by :Disease(name)": "MATCH (n:Disease {name: row.name}) RETURN count(n)",
    "lookup + SET a counter": "MATCH (n:Disease {name: row.name}) SET n.evidence_count = n.evidence_count + 0 RETURN count(n)",
    "MERGE an existing entity": "MERGE (n:Disease:Entity {name: row.name}) SET n.last_run = n.last_run RETURN count(n)",
    "find the missing (none) to CREATE": "OPTIONAL MATCH (n:Disease {name: row.name}) WITH row, n WHERE n IS NULL "
                                         "CREATE (:Disease:Entity {name: row.name}) RETURN count(*)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    schema = load_schema()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp, FalkorDBServer(Path(tmp) / "db") as server:
        graphs = []
        for size in (int(s) for s in args.sizes.split(",")):
            sink = FalkorDBSink(schema, replace(FalkorDBSettings(), graph_name=f"g{size}"), 2000, server=server)
            sink.init_schema()
            write_all(sink, synthetic(size), 500)
            names = [row["n"] for row in sink.query("MATCH (n:Disease) RETURN n.name AS n")]
            graphs.append((size, sink, names))
            print(f"graph of {size} triples written ({len(names)} Disease entities)", flush=True)
        times: dict[str, dict[int, list[float]]] = {op: {size: [] for size, _, _ in graphs} for op in OPERATIONS}
        for _ in range(args.repeats):
            for op, text in OPERATIONS.items():
                for size, sink, names in graphs:
                    rows = [{"name": name, "label": "Disease"} for name in rng.sample(names, ROWS)]
                    result = sink.graph.query(cypher_header({"rows": rows}) + "UNWIND $rows AS row\n" + text)
                    times[op][size].append(result.run_time_ms)
        out = []
        for op, by_size in times.items():
            medians = {size: statistics.median(ms) for size, ms in by_size.items()}
            small, large = medians[graphs[0][0]], medians[graphs[-1][0]]
            out.append({"operation": op, **{f"ms_at_{size}": round(ms, 1) for size, ms in medians.items()},
                        "ratio": round(large / small, 2)})
            print(f"{op:44} {ROWS} rows: " + "  ".join(f"{size}: {ms:6.1f} ms" for size, ms in medians.items()) +
                  f"  ratio {large / small:.2f}", flush=True)
        for _, sink, _ in graphs:
            sink.close()
    emit({"args": vars(args), "rows_per_statement": ROWS, "operations": out}, args.json_out)


if __name__ == "__main__":
    main()
