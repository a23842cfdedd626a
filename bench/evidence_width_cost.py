"""What an Evidence node's width costs each store: 10,000 Evidence nodes created in one statement
(Neo4j: one transaction, statement and commit timed apart; FalkorDB: the server's execution time),
with the sink's real property values (prepared from bench_sinks' synthetic triples), in shapes
from today's 35 properties down to 8, both stores in one run.

    .venv/bin/python bench/evidence_width_cost.py [--nodes 10000] [--rounds 3] [--json PATH]

Shapes (each as the sink would send it: UNWIND over positional lists):
- all 35 properties, on a label with the sink's three Evidence indexes (key unique, edge_key, run_id)
- the same on a label without indexes
- 28: without what repeats the document's ledger or the schema (relation_model, span_model,
  assertion_model, run_id; subject_type, object_type, predicate)
- 8 core properties + the other 27 packed into one JSON string
- the 8 core properties alone
Nodes only: no links, no entities, no edges (those cost the same whatever the node's width).
Each shape is created and deleted `rounds` times after a warm-up round; medians are reported.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "neo4j-server"))

from bench_sinks import synthetic  # noqa: E402
from common import emit  # noqa: E402

from etl.graph.batch import EVIDENCE_PROPERTIES, prepare_batch  # noqa: E402
from etl.graph.dialect import (falkordb_constraint_command, falkordb_index_statement,  # noqa: E402
                               neo4j_schema_statements)
from etl.graph.falkordb_sink import cypher_header  # noqa: E402
from etl.graph.statements import EVIDENCE, StatementBuilder  # noqa: E402
from etl.schema import load_schema  # noqa: E402

CORE = ("key", "edge_key", "doc_id", "subject", "object", "score", "asserted", "assertion")
REPEATED = ("relation_model", "span_model", "assertion_model", "run_id", "subject_type", "object_type", "predicate")
INDEXED, PLAIN = EVIDENCE, "EvidencePlain"


def shapes() -> dict[str, tuple[str, list[str], bool]]:
    """name -> (label, properties, pack the rest into one JSON `details` string)."""
    every = list(EVIDENCE_PROPERTIES)
    return {
        "35 properties (today), indexed label": (INDEXED, every, False),
        "35 properties, no index": (PLAIN, every, False),
        "28 properties (no ledger/schema repeats), indexed": (INDEXED, [p for p in every if p not in REPEATED], False),
        "8 core + the other 27 as one JSON string, indexed": (INDEXED, list(CORE), True),
        "8 core properties, indexed": (INDEXED, list(CORE), False),
    }


def evidence_props(n: int) -> list[dict]:
    docs = synthetic(n)
    batch = prepare_batch(load_schema(), [d for d, _ in docs], [e for _, rows in docs for e in rows], "bench-run")
    return [row["props"] for rows in batch.evidence.values() for row in rows][:n]


def rows_for(props: list[dict], names: list[str], pack: bool) -> list[list]:
    if not pack:
        return [[p[name] for name in names] for p in props]
    return [[p[name] for name in names] + [json.dumps({k: v for k, v in p.items() if k not in names},
                                                      ensure_ascii=False)] for p in props]


def create_text(label: str, names: list[str], pack: bool) -> str:
    fields = [*names, "details"] if pack else names
    return f"UNWIND $rows AS row CREATE (:{label} {{{', '.join(f'{n}: row[{i}]' for i, n in enumerate(fields))}}})"


def neo4j_times(props, rounds: int) -> dict[str, list[tuple[float, float]]]:
    import neo4j
    from neo4j_test_server import Neo4jTestServer

    out: dict[str, list[tuple[float, float]]] = {name: [] for name in shapes()}
    with tempfile.TemporaryDirectory() as tmp:
        server = Neo4jTestServer(Path(tmp) / "neo4j", heap="2g", pagecache="1g").start()
        try:
            with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as driver:
                with driver.session() as session:
                    specs = [s for s in StatementBuilder(load_schema()).index_specs() if s.label == INDEXED]
                    for statement in neo4j_schema_statements(specs):
                        session.run(statement.text).consume()
                    session.run("CALL db.awaitIndexes(300)").consume()
                for round_ in range(rounds + 1):
                    for name, (label, names, pack) in shapes().items():
                        rows = rows_for(props, names, pack)
                        with driver.session() as session:
                            tx = session.begin_transaction()
                            start = time.perf_counter()
                            tx.run(create_text(label, names, pack), rows=rows).consume()
                            middle = time.perf_counter()
                            tx.commit()
                            end = time.perf_counter()
                            session.run(f"MATCH (n:{label}) CALL (n) {{ DETACH DELETE n }} "
                                        f"IN TRANSACTIONS OF 5000 ROWS").consume()
                        if round_:  # round 0 warms up the JVM and the plans
                            out[name].append((middle - start, end - middle))
                        print(f"neo4j    round {round_} {name}: statement {middle - start:.2f} s, "
                              f"commit {end - middle:.2f} s", flush=True)
        finally:
            server.stop()
    return out


def falkordb_times(props, rounds: int) -> dict[str, list[float]]:
    from falkordb import FalkorDB

    from etl.graph.falkordb_server import FalkorDBServer

    out: dict[str, list[float]] = {name: [] for name in shapes()}
    with tempfile.TemporaryDirectory() as tmp, FalkorDBServer(Path(tmp) / "db") as server:
        db = FalkorDB(unix_socket_path=server.socket_path, socket_timeout=600)
        for round_ in range(rounds + 1):
            graph = db.select_graph(f"width{round_}")  # a fresh graph per round, the sink's Evidence schema
            for spec in (s for s in StatementBuilder(load_schema()).index_specs() if s.label == INDEXED):
                graph.query(falkordb_index_statement(spec).text)
                if spec.unique:
                    db.connection.execute_command(*falkordb_constraint_command(graph.name, spec))
            for name, (label, names, pack) in shapes().items():
                text = cypher_header({"rows": rows_for(props, names, pack)}) + create_text(label, names, pack)
                ms = graph.query(text).run_time_ms
                graph.query(f"MATCH (n:{label}) DELETE n")
                if round_:
                    out[name].append(ms / 1000)
                print(f"falkordb round {round_} {name}: {ms / 1000:.2f} s", flush=True)
            db.select_graph(f"width{round_}").delete()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    props = evidence_props(args.nodes)
    falkordb = falkordb_times(props, args.rounds)
    neo = neo4j_times(props, args.rounds)
    table = []
    print(f"\n{len(props)} Evidence nodes per statement, median of {args.rounds} rounds\n")
    print("| Shape | FalkorDB (server) | us/node | Neo4j statement | Neo4j commit | us/node |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in shapes():
        f = statistics.median(falkordb[name])
        s = statistics.median(t[0] for t in neo[name])
        c = statistics.median(t[1] for t in neo[name])
        table.append({"shape": name, "falkordb_s": round(f, 3), "neo4j_statement_s": round(s, 3),
                      "neo4j_commit_s": round(c, 3)})
        print(f"| {name} | {f:.2f} s | {1e6 * f / len(props):.0f} | {s:.2f} s | {c:.2f} s | "
              f"{1e6 * (s + c) / len(props):.0f} |")
    emit({"args": vars(args), "nodes": len(props), "shapes": table}, args.json_out)


if __name__ == "__main__":
    main()
