"""The floor under any writer: what each store's own offline bulk loader costs for the sink's graph.

    .venv/bin/python bench/bulk_floor.py [--sizes 100000,300000] [--stores neo4j,falkordb]
                                         [--falkordb-loader PATH] [--json PATH]

The Cypher writers (bench_sinks.py) reach ~3,000 (FalkorDB) and ~1,200 (Neo4j) triples/s; issue
16 asks for 20,000 on both. The earlier passes found no dominant cost left in the writers and
named one route beyond them, an offline bulk load into a new graph. This measures that route's
floor on bench_sinks' synthetic triples, both stores in one run:

1. gather (client): the sink's batch preparation (batch.prepare_batch: validation, names, keys)
   over writes of 500 documents, and the graph gathered in memory with the aggregates the sink
   keeps (entity counts and surface forms, documents, edge counts, best and mean scores): what
   an offline writer must compute before a store sees a row;
2. files (client): that graph as CSV in the loader's format;
3. load: Neo4j: `neo4j-admin database import full` (Neo4j's importer, a JVM of its own, from the
   jars tools/neo4j-server ships) into a new database; FalkorDB: falkordb-bulk-loader (Python,
   GRAPH.BULK) into a new graph of a private server. Its CPU and the server's are reported apart.

The graph is counted afterwards (Neo4j: the test server started on the imported store) and must
match bench_sinks' counts for the same size. Not a product path: no indexes, ledger of cut writes
or run node, and falkordb-bulk-loader changes values (strips whitespace, reads list items and
empty strings by guessing their type), so it is a measurement only. It is no dependency of this
project: install it into a venv of its own (`python3.11 -m venv /tmp/fbl && /tmp/fbl/bin/pip
install falkordb-bulk-loader==1.2.0 falkordb==1.8.1 redis==8.1.0`) and name its
`falkordb-bulk-insert` with --falkordb-loader.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tools" / "neo4j-server"))

from bench_sinks import synthetic  # noqa: E402
from etl.graph.batch import EVIDENCE_PROPERTIES, prepare_batch  # noqa: E402
from etl.graph.counts import micros  # noqa: E402
from etl.schema import load_schema  # noqa: E402

RUN = "bench-run"
LIB = ROOT / "tools" / "neo4j-server" / "target" / "lib"


def gather(schema, docs, docs_per_write: int = 500):
    """The graph a first write of `docs` leaves, as rows: (entities, evidence, documents, edges)."""
    entities: dict[tuple[str, str], dict] = {}
    evidence: list[dict] = []
    documents: list[dict] = []
    edges: dict[str, dict] = {}
    for i in range(0, len(docs), docs_per_write):
        part = docs[i:i + docs_per_write]
        batch = prepare_batch(schema, [d for d, _ in part], [e for _, rows in part for e in rows], RUN)
        documents += [row["props"] for row in batch.documents]
        for label, names in batch.nodes.items():
            for name, forms in names.items():
                node = entities.get((label, name))
                if node is None:
                    node = entities[(label, name)] = {"name": name, "full_name": batch.full_names.get(name),
                                                      "surface_forms": [], "evidence_count": 0,
                                                      "asserted_count": 0}
                node["surface_forms"] += [f for f in forms if f not in node["surface_forms"]]
        for group, rows in batch.evidence.items():
            for row in rows:
                props = row["props"]
                evidence.append(props)
                for role in ("subject", "object"):
                    node = entities[(props[f"{role}_label"], props[role])]
                    node["evidence_count"] += 1
                    node["asserted_count"] += props["asserted"]
                edge = edges.get(props["edge_key"])
                if edge is None:  # kept only if some asserted evidence supports it (below)
                    edge = edges[props["edge_key"]] = {
                        "group": group, "s": props["subject"], "o": props["object"], "edge_key": props["edge_key"],
                        "predicate": props["predicate"], "n": 0, "docs": set(), "micros": 0, "best": None,
                        "absent": 0, "possible": 0}
                if props["asserted"]:
                    edge["n"] += 1
                    edge["docs"].add(props["doc_id"])
                    edge["micros"] += micros(props["score"])
                    edge["best"] = props["score"] if edge["best"] is None else max(edge["best"], props["score"])
                elif props["assertion"] == "absent":
                    edge["absent"] += 1
                else:
                    edge["possible"] += 1
    edges = {key: edge for key, edge in edges.items() if edge["n"]}
    return entities, evidence, documents, edges


class Files:
    """One store's input files: `node(label(s), columns)` / `rel(type, columns)` write a file and
    remember the loader's argument. Columns are {header: values}: a property's name, or an id
    column in the header form both loaders read (`name:ID(Disease)`, `:START_ID(Evidence)`);
    `typed` adds each property's type in the loader's own words, as the sink's values have it
    (an untyped column would be text to Neo4j's importer)."""

    def __init__(self, out: Path, store: str):
        self.out, self.store, self.args, self.count = out, store, [], 0

    def _write(self, columns: dict[str, list]) -> Path:
        self.count += 1
        path = self.out / f"{self.store}-{self.count}.csv"
        names = [self.typed(name, values) for name, values in columns.items()]
        cells = [[self.cell(v) for v in values] for values in columns.values()]
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(names)
            out.writerows(zip(*cells))
        return path

    def cell(self, value):
        if isinstance(value, list):  # Neo4j: the importer's array delimiter; FalkorDB: a literal
            return ";".join(value) if self.store == "neo4j" else repr(value)
        return value

    # Property types as each loader names them, read off the values (bool before int: a bool is one).
    TYPES = {"neo4j": (("string[]", list), ("boolean", bool), ("long", int), ("double", float), ("string", str)),
             "falkordb": (("ARRAY", list), ("BOOL", bool), ("LONG", int), ("DOUBLE", float), ("STRING", str))}

    def typed(self, header: str, values: list) -> str:
        """`name` -> `name:<type>`; id columns (`x:ID(...)`, `:START_ID(...)`) as they are."""
        if ":" in header:
            return header
        sample = next((v for v in values if v is not None), "")
        return f"{header}:{next(name for name, kind in self.TYPES[self.store] if isinstance(sample, kind))}"

    def node(self, labels: str, columns: dict[str, list]) -> None:
        path = self._write(columns)
        self.args += [f"--nodes={labels}={path}"] if self.store == "neo4j" else ["-N", labels, str(path)]

    def rel(self, rel_type: str, columns: dict[str, list]) -> None:
        path = self._write(columns)
        self.args += [f"--relationships={rel_type}={path}"] if self.store == "neo4j" else ["-R", rel_type, str(path)]


def write_files(files: Files, entities, evidence, documents, edges) -> list[str]:
    """The graph as the store's loader reads it; returns the loader's arguments."""
    by_label: dict[str, list[dict]] = defaultdict(list)
    for (label, _), node in entities.items():
        by_label[label].append(node)
    for label, nodes in sorted(by_label.items()):
        files.node(f"{label}:Entity", {
            f"name:ID({label})": [n["name"] for n in nodes],
            "full_name": [n["full_name"] for n in nodes],
            "surface_forms": [n["surface_forms"] for n in nodes],
            "evidence_count": [n["evidence_count"] for n in nodes],
            "asserted_count": [n["asserted_count"] for n in nodes],
            "first_run": [RUN] * len(nodes), "last_run": [RUN] * len(nodes)})
    files.node("Evidence", {("key:ID(Evidence)" if name == "key" else name): [row[name] for row in evidence]
                            for name in EVIDENCE_PROPERTIES})
    doc_keys = sorted({k for d in documents for k in d})
    files.node("Document", {("doc_id:ID(Document)" if k == "doc_id" else k): [d.get(k) for d in documents]
                            for k in doc_keys})
    files.rel("HAS_EVIDENCE", {":START_ID(Document)": [row["doc_id"] for row in evidence],
                               ":END_ID(Evidence)": [row["key"] for row in evidence]})
    for role, rel in (("subject", "SUBJECT"), ("object", "OBJECT")):
        ends: dict[str, list[dict]] = defaultdict(list)
        for row in evidence:
            ends[row[f"{role}_label"]].append(row)
        for label, rows in sorted(ends.items()):
            files.rel(rel, {":START_ID(Evidence)": [r["key"] for r in rows], f":END_ID({label})": [r[role] for r in rows]})
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for edge in edges.values():
        groups[edge["group"]].append(edge)
    for (s_label, rel_type, o_label), rows in sorted(groups.items()):
        files.rel(rel_type, {
            f":START_ID({s_label})": [e["s"] for e in rows], f":END_ID({o_label})": [e["o"] for e in rows],
            "predicate": [e["predicate"] for e in rows], "edge_key": [e["edge_key"] for e in rows],
            "first_run": [RUN] * len(rows), "last_run": [RUN] * len(rows),
            "evidence_count": [e["n"] for e in rows], "doc_count": [len(e["docs"]) for e in rows],
            "score_micros": [e["micros"] for e in rows], "best_score": [e["best"] for e in rows],
            "mean_score": [round(e["micros"] / e["n"]) / 1e6 for e in rows],
            "absent_count": [e["absent"] for e in rows], "possible_count": [e["possible"] for e in rows]})
    return files.args


def run_import(home: Path, files: list[str], heap: str) -> tuple[float, float]:
    """Neo4j's importer into a new database under `home`: (wall s, CPU s of the JVM)."""
    conf = home / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "neo4j.conf").write_text(f"server.directories.data={home / 'data'}\n")
    env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(conf)}
    command = ["java", f"-Xmx{heap}", "-cp", f"{LIB}/*", "org.neo4j.cli.AdminTool", "database", "import", "full",
               "neo4j", "--overwrite-destination=true", f"--report-file={home / 'import.report'}",
               *files]  # the database first: --nodes/--relationships take every word after them
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def count_graph(home: Path) -> dict:
    """Start the test server on the imported store and count what it holds."""
    import neo4j
    from neo4j_test_server import Neo4jTestServer

    server = Neo4jTestServer(home, heap="1g", pagecache="512m").start()
    try:
        with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password) if server.password
                                        else None) as driver, driver.session(database="neo4j") as session:
            nodes = session.run("MATCH (n) RETURN count(n) AS c").single()["c"]
            entities = session.run("MATCH (n:Entity) RETURN count(n) AS c").single()["c"]
            evidence = session.run("MATCH (n:Evidence) RETURN count(n) AS c").single()["c"]
            typed = session.run("MATCH ()-[r]->() WHERE NOT type(r) IN ['HAS_EVIDENCE', 'SUBJECT', 'OBJECT'] "
                                "RETURN count(r) AS c").single()["c"]
        return {"nodes": nodes, "entities": entities, "evidence": evidence, "typed_edges": typed}
    finally:
        server.stop()


def run_falkordb_load(home: Path, files: list[str], loader: str) -> dict:
    """falkordb-bulk-loader (GRAPH.BULK) into a new graph of a private FalkorDB server."""
    import redis
    from etl.graph.falkordb_server import FalkorDBServer, cpu_seconds

    with FalkorDBServer(home / "falkordb") as server:
        server_cpu = cpu_seconds(server.process.pid)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([loader, "bulk", "-u", f"unix://{server.socket_path}?socket_timeout=3600",
                               "--enforce-schema", "--escapechar", "none", *files], capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_cpu = cpu_seconds(server.process.pid) - server_cpu
        if done.returncode != 0:
            raise SystemExit(f"bulk load failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        client = redis.Redis(unix_socket_path=server.socket_path, socket_timeout=600)

        def count(query: str) -> int:
            return client.execute_command("GRAPH.QUERY", "bulk", query)[1][0][0]
        # Whole-label and whole-type counts: FalkorDB answers them from its matrices.
        links = sum(count(f"MATCH ()-[r:{rel}]->() RETURN count(r)") for rel in ("HAS_EVIDENCE", "SUBJECT", "OBJECT"))
        graph = {"nodes": count("MATCH (n) RETURN count(n)"), "entities": count("MATCH (n:Entity) RETURN count(n)"),
                 "evidence": count("MATCH (n:Evidence) RETURN count(n)"),
                 "typed_edges": count("MATCH ()-[r]->() RETURN count(r)") - links}
        client.close()
    loader_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"load_s": wall, "loader_cpu_s": loader_cpu, "server_cpu_s": server_cpu, "graph": graph}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--stores", default="neo4j,falkordb")
    parser.add_argument("--heap", default="2g", help="the Neo4j importer JVM's heap")
    parser.add_argument("--falkordb-loader", default="falkordb-bulk-insert",
                        help="the falkordb-bulk-loader command (pip install falkordb-bulk-loader==1.2.0 into a "
                             "venv of its own: it is no dependency of this project)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    stores = args.stores.split(",")
    if "falkordb" in stores and not shutil.which(args.falkordb_loader):
        parser.error(f"no falkordb-bulk-loader at {args.falkordb_loader!r}: see --help")
    if "neo4j" in stores and not (LIB / "neo4j-import-tool-5.26.30.jar").exists():
        parser.error(f"no Neo4j jars in {LIB}: run `make neo4j-server` first")
    schema = load_schema()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        docs = synthetic(size)
        t0, c0 = time.perf_counter(), time.process_time()
        graph = gather(schema, docs)
        gather_s, gather_cpu = time.perf_counter() - t0, time.process_time() - c0
        triples = len(graph[1])
        for store in stores:
            with tempfile.TemporaryDirectory() as tmp:
                home = Path(tmp)
                (home / "in").mkdir()
                t1, c1 = time.perf_counter(), time.process_time()
                files = write_files(Files(home / "in", store), *graph)
                files_s, files_cpu = time.perf_counter() - t1, time.process_time() - c1
                if store == "neo4j":
                    wall, cpu = run_import(home, files, args.heap)
                    load = {"load_s": wall, "loader_cpu_s": cpu, "server_cpu_s": 0.0, "graph": count_graph(home)}
                else:
                    load = run_falkordb_load(home, files, args.falkordb_loader)
                total = gather_s + files_s + load["load_s"]
                row = {"store": store, "triples": triples, "gather_s": round(gather_s, 2), "files_s": round(files_s, 2),
                       "client_cpu_s": round(gather_cpu + files_cpu, 2), "load_s": round(load["load_s"], 2),
                       "loader_cpu_s": round(load["loader_cpu_s"], 2), "server_cpu_s": round(load["server_cpu_s"], 2),
                       "total_s": round(total, 2), "triples_per_s": round(triples / total),
                       "load_only_triples_per_s": round(triples / load["load_s"]),
                       "load_average": round(os.getloadavg()[0], 1), "graph": load["graph"]}
                results.append(row)
                print(json.dumps(row), flush=True)
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps({"args": vars(args), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
