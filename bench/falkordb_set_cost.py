"""What a property SET costs FalkorDB on an indexed node: the same SET on 2,000 nodes of a label
with two indexed properties and of a label with none (100,000 nodes each, found by id so that only
the SET differs), with each reply's server execution time.

    .venv/bin/python bench/falkordb_set_cost.py [--nodes 100000] [--repeats 5] [--json PATH]

Why it matters: every write sets counts on each entity it touches, and entity labels are indexed
(their name key, and :Entity(name)); FalkorDB re-indexes a node in its label's index on any SET,
whichever property changed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit  # noqa: E402
from falkordb import FalkorDB  # noqa: E402

from etl.graph.falkordb_server import FalkorDBServer  # noqa: E402
from etl.graph.falkordb_sink import cypher_header  # noqa: E402

ROWS = 2000
BY_ID = "UNWIND $rows AS row MATCH (n) WHERE id(n) = row "
OPERATIONS = {
    "lookup by id, indexed label": ("Indexed", BY_ID + "RETURN count(n)"),
    "SET a counter, indexed label (property not indexed)": ("Indexed", BY_ID + "SET n.c = n.c + 1 RETURN count(n)"),
    "SET the indexed property to itself": ("Indexed", BY_ID + "SET n.name = n.name RETURN count(n)"),
    "lookup by id, label without index": ("Plain", BY_ID + "RETURN count(n)"),
    "SET a counter, label without index": ("Plain", BY_ID + "SET n.c = n.c + 1 RETURN count(n)"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FalkorDBServer(Path(tmp) / "db") as server:
        graph = FalkorDB(unix_socket_path=server.socket_path, socket_timeout=600).select_graph("set_cost")
        graph.query("CREATE INDEX FOR (n:Indexed) ON (n.name)")
        graph.query("CREATE INDEX FOR (n:Indexed) ON (n.key)")
        graph.query(f"UNWIND range(1, {args.nodes}) AS i CREATE (:Indexed {{name: 'n' + toString(i), key: i, c: 0}}), "
                    f"(:Plain {{name: 'n' + toString(i), key: i, c: 0}})")
        ids = {label: [row[0] for row in graph.query(f"MATCH (n:{label}) RETURN id(n) LIMIT {ROWS}").result_set]
               for label in ("Indexed", "Plain")}
        times: dict[str, list[float]] = {name: [] for name in OPERATIONS}
        for _ in range(args.repeats):
            for name, (label, text) in OPERATIONS.items():
                times[name].append(graph.query(cypher_header({"rows": ids[label]}) + text).run_time_ms)
        graph.delete()
    out = []
    for name, ms in times.items():
        median = statistics.median(ms)
        out.append({"operation": name, "ms_per_2000": round(median, 1), "us_per_node": round(1000 * median / ROWS, 1)})
        print(f"{name:55} {median:6.1f} ms per {ROWS} nodes = {1000 * median / ROWS:5.1f} us per node", flush=True)
    emit({"args": vars(args), "rows_per_statement": ROWS, "operations": out}, args.json_out)


if __name__ == "__main__":
    main()
