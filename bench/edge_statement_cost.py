"""Where an edge upsert's time goes, in both stores: the 53 `merge <group>` statements of one
10,000-triple write (statements.upsert_edges) run as shipped and cut down to their parts.

    .venv/bin/python bench/edge_statement_cost.py [--size 60000] [--stores falkordb,neo4j] [--repeats 3]

The statements are captured from a real write into a graph of --size synthetic triples (the write
stops at its first edge statement). FalkorDB: each variant runs on a graph of its own, filled the
same way (its writes cannot be undone; the captured write's evidence is in it). Neo4j: each run
in a transaction that is rolled back, variants alternating, the first round (planning every new
statement text) reported apart.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sinks import falkordb_store, neo4j_store, synthetic, write_all  # noqa: E402
from common import emit  # noqa: E402

from etl.graph.falkordb_sink import cypher_header  # noqa: E402
from etl.schema import load_schema  # noqa: E402

SET_LAST_RUN = "SET r.last_run = $run_id"
AFTER_MERGE = "WITH row, r, r.evidence_count < 0 AS fresh\n"


def variant(text: str, name: str) -> str:
    head = text.split(SET_LAST_RUN)[0]
    if name == "as shipped":
        return text
    if name == "MERGE + SET last_run":
        return head + SET_LAST_RUN + " RETURN count(*) AS c"
    if name == "MERGE + one SET of 8 values":
        return head + (SET_LAST_RUN + ", r.evidence_count = 1, r.doc_count = 1, r.score_micros = 1, r.best_score = 0.5, "
                       "r.mean_score = 0.5, r.absent_count = 0, r.possible_count = 0 RETURN count(*) AS c")
    if name == "MERGE + SET last_run + evidence lookup of new edges":
        return (head + SET_LAST_RUN + "\n" + AFTER_MERGE +
                "OPTIONAL MATCH (ev:Evidence {edge_key: CASE WHEN fresh THEN row[2] END}) RETURN count(ev) AS c")
    raise KeyError(name)


VARIANTS = ("as shipped", "MERGE + SET last_run", "MERGE + one SET of 8 values",
            "MERGE + SET last_run + evidence lookup of new edges")


class _Captured(Exception):
    pass


def capture(sink, docs) -> list:
    """The edge upsert statements (`merge <group>`) of writing `docs`, taken from the sink's own
    write as it sends them; the write stops at the first statement after them."""
    found = []

    def hook(statement):
        if statement.name.startswith("merge") and "-" in statement.name:
            found.append(statement)
            return [{"stale": []}]  # not run: the variants run them
        if found:
            raise _Captured()
        return None
    real_run, real_runner = getattr(sink, "_run", None), getattr(sink, "_runner", None)
    if sink.kind == "falkordb":
        sink._run = lambda statement: hook(statement) or real_run(statement)
    else:
        sink._runner = lambda tx: (lambda statement, run=real_runner(tx): hook(statement) or run(statement))
    try:
        sink.write_documents([d for d, _ in docs], [e for _, rows in docs for e in rows], run_id="bench-run")
    except _Captured:  # Neo4j rolls the write back; FalkorDB keeps what it ran (evidence, entities)
        pass
    finally:
        sink.__dict__.pop("_run", None)
        sink.__dict__.pop("_runner", None)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=60_000)
    parser.add_argument("--stores", default="falkordb,neo4j")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    schema = load_schema()
    docs = synthetic(args.size + 10_000)
    fill, batch = docs[:args.size // 20], docs[args.size // 20:args.size // 20 + 500]
    out = []
    for kind in args.stores.split(","):
        store = falkordb_store(schema, 2000) if kind == "falkordb" else neo4j_store(schema, 2000, "2g", "1g")
        with store as (make, where, _pid):
            seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
            if kind == "falkordb":
                for _ in range(args.repeats):
                    for name in VARIANTS:
                        sink = make()
                        sink.init_schema()
                        write_all(sink, fill, 500)
                        statements = capture(sink, batch)
                        start = time.perf_counter()
                        for statement in statements:
                            sink.graph.query(cypher_header(statement.params) + variant(statement.text, name))
                        seconds[name].append(time.perf_counter() - start)
            else:
                sink = make()
                sink.init_schema()
                write_all(sink, fill, 500)
                statements = capture(sink, batch)
                with sink.driver.session(database=sink.settings.database or None) as session:
                    for _ in range(args.repeats + 1):  # the first round plans every text
                        for name in VARIANTS:
                            tx = session.begin_transaction()
                            start = time.perf_counter()
                            for statement in statements:
                                tx.run(variant(statement.text, name), statement.params).consume()
                            seconds[name].append(time.perf_counter() - start)
                            tx.rollback()
            rows = sum(len(s.params["rows"]) for s in statements)
            print(f"{kind}: {where}; {len(statements)} statements, {rows} rows, graph of {args.size} triples", flush=True)
            for name, times in seconds.items():
                steady = times[1:] if kind == "neo4j" else times
                row = {"store": kind, "variant": name, "median_s": round(statistics.median(steady), 3),
                       "first_s": round(times[0], 3) if kind == "neo4j" else None, "rows": rows}
                out.append(row)
                print(f"  {name:52} {row['median_s']:6.3f} s" +
                      (f" (first round, planning: {times[0]:.1f} s)" if kind == "neo4j" else ""), flush=True)
    emit({"args": vars(args), "results": out}, args.json_out)


if __name__ == "__main__":
    main()
