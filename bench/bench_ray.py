"""`etl run --engine ray` against `--engine local` in one invocation (the machine is shared and noisy).

    .venv/bin/python bench/bench_ray.py [--input notes.parquet] [--rows N] [--small 200] [--actors 2]
                                        [--json out.json]

Each engine runs `etl run` in a subprocess (as cron runs it) into a fresh embedded FalkorDB, on the
whole input (or its first `--rows`) and on its first `--small` rows, alternating local / ray.
Reports per run: process wall, pipeline wall (the run report's), docs/s, the peak RSS of the
driver process (its VmHWM) and the peak of the summed RSS of the driver and all its descendants
(Ray's GCS, raylet, workers and actors, the private FalkorDB; sampled every 0.25 s from /proc, so a
short peak can be missed, and shared pages such as Ray's object store count once per process that
maps them).

From the two sizes: the fixed start-up (intercept) and the seconds per document (slope) of each
engine, and for Ray the per-actor throughput (documents / the actors' summed busy seconds: the
stage times the actors report), which the "scaling on paper" in BENCHMARKS.md extrapolates from.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pyarrow.parquet as pq

from common import ROOT, Clock, emit, input_notes, parser
from synthetic import first_rows

ACTOR_STAGES = ("windows_tokens", "relations", "spans", "assertions", "merge")


def _rss_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


class MemoryWatch:
    """Peak RSS of one process (VmHWM) and of it with all its descendants (sampled)."""

    def __init__(self, pid: int, every: float = 0.25):
        self.pid, self.every = pid, every
        self.driver_kib = self.tree_kib = self.tree_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self):
        while not self._stop.is_set():
            self.driver_kib = max(self.driver_kib, _rss_kib(self.pid, "VmHWM"))
            pids = _descendants(self.pid)
            total = sum(_rss_kib(p, "VmRSS") for p in pids)
            if total > self.tree_kib:
                self.tree_kib, self.tree_processes = total, len(pids)
            self._stop.wait(self.every)

    def stop(self):
        self._stop.set()
        self._thread.join()


def run(engine: str, source: Path, config: str, workdir: Path, actors: int) -> dict:
    overrides = ["--set", f"graph.falkordb.data_dir={workdir / 'graph'}",
                 "--set", f"run.reports_dir={workdir / 'reports'}",
                 "--set", f"run.quarantine_dir={workdir / 'quarantine'}"]
    if engine == "ray":
        overrides += ["--set", f"ray.actors={actors}", "--set", f"ray.local_cpus={max(2, actors)}"]
    command = [sys.executable, "-m", "etl", "--config", config, *overrides, "run", "--input", str(source),
               "--engine", engine]
    clock = Clock()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = MemoryWatch(child.pid)
    out, err = child.communicate()
    wall = clock()
    watch.stop()
    if child.returncode not in (0, 2):
        sys.stderr.write(out + err)
        raise SystemExit(f"etl run --engine {engine} failed with exit code {child.returncode}")
    report = json.loads(sorted((workdir / "reports").glob("run-*.json"))[-1].read_text(encoding="utf-8"))
    docs = report["documents_extracted"]
    busy = sum(report["stage_seconds"].get(s, 0.0) for s in ACTOR_STAGES)
    return {"engine": engine, "documents": docs, "triples": report["triples"],
            "process_seconds": round(wall, 2), "pipeline_seconds": round(report["wall_seconds"], 2),
            "docs_per_s_pipeline": round(docs / report["wall_seconds"], 2),
            "docs_per_s_process": round(docs / wall, 2),
            "load_models_seconds": round(report["stage_seconds"].get("load_models", 0.0), 2),
            "model_stage_seconds": round(busy, 2), "write_seconds": round(report["stage_seconds"].get("write", 0.0), 2),
            "peak_rss_driver_mib": round(watch.driver_kib / 1024), "peak_rss_all_mib": round(watch.tree_kib / 1024),
            "processes_at_peak": watch.tree_processes}


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--small", type=int, default=200, help="rows of the small run (fixed cost vs per document)")
    p.add_argument("--actors", type=int, default=2, help="Ray model actors (one CPU each)")
    args = p.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        whole = Path(input_notes(args, Path(tmp)))
        rows = pq.read_metadata(whole).num_rows
        if not 0 < args.small < rows:
            raise SystemExit(f"--small must be between 0 and the input's {rows} rows: the fit needs two sizes")
        small = first_rows(whole, args.small, Path(tmp) / "small.parquet")
        for label, source in (("small", small), ("all", whole)):
            for engine in ("local", "ray"):
                work = Path(tmp) / f"{engine}-{label}"
                work.mkdir()
                figures = run(engine, source, args.config, work, args.actors)
                figures["input"] = label
                runs.append(figures)
                print(json.dumps(figures), file=sys.stderr, flush=True)
    fits = {}
    for engine in ("local", "ray"):
        a, b = [r for r in runs if r["engine"] == engine]
        per_doc = (b["process_seconds"] - a["process_seconds"]) / (b["documents"] - a["documents"])
        fits[engine] = {"fixed_seconds": round(a["process_seconds"] - per_doc * a["documents"], 2),
                        "seconds_per_document": round(per_doc, 5),
                        "marginal_docs_per_s": round(1 / per_doc, 1) if per_doc > 0 else None}
    whole = {r["engine"]: r for r in runs if r["input"] == "all"}
    ray_all = whole["ray"]
    figures = {"benchmark": "etl run --engine ray vs --engine local (embedded FalkorDB, subprocesses)",
               "input": args.input, "rows": rows, "small_rows": args.small, "ray_actors": args.actors,
               "runs": runs, "fit_process_seconds": fits,
               "ray_over_local_process": round(ray_all["process_seconds"] / whole["local"]["process_seconds"], 2),
               "ray_over_local_pipeline": round(ray_all["pipeline_seconds"] / whole["local"]["pipeline_seconds"], 2),
               "ray_per_actor_docs_per_busy_s": round(ray_all["documents"] / ray_all["model_stage_seconds"], 2),
               "triples_per_document": round(ray_all["triples"] / ray_all["documents"], 3),
               "load_average": os.getloadavg()}
    emit(figures, args.json_out)


if __name__ == "__main__":
    main()
