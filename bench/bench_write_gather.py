"""The graph write stage of `etl run` with and without gathering (graph.write_triples): the shared
notes replicated N times (new ids per copy), run twice into a fresh embedded FalkorDB each, in one
session so the two are measured on the same machine state.

    .venv/bin/python bench/bench_write_gather.py [--times 4] [--json PATH]

- "per batch": `graph.write_triples = 1`, one sink write per batch the assertion stage hands on
  (what `etl run` did before gathering);
- "gathered": the configured `graph.write_triples` (default 10,000) and `graph.write_seconds`.
Both runs must give the same graph (entity, edge and evidence counts from `etl db stats`).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, emit, parser, replicate_notes


def run(input_path: Path, config: str, workdir: Path, *overrides: str) -> tuple[dict, str]:
    """(run report, `etl db stats` without its first line, which names the folder)."""
    base = [sys.executable, "-m", "etl.cli", "--config", config,
            "--set", f"run.reports_dir={workdir / 'reports'}", "--set", f"run.quarantine_dir={workdir / 'q'}",
            "--set", f"graph.falkordb.data_dir={workdir / 'db'}", "--set", "graph.sink=falkordb"]
    for key_value in overrides:
        base += ["--set", key_value]
    done = subprocess.run(base + ["run", "--input", str(input_path)], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit("etl run failed")
    report = json.loads(next((workdir / "reports").glob("run-*.json")).read_text(encoding="utf-8"))
    stats = subprocess.run(base + ["db", "stats"], cwd=ROOT, capture_output=True, text=True)
    if stats.returncode != 0:
        sys.stderr.write(stats.stdout + stats.stderr)
        raise SystemExit("etl db stats failed")
    return report, "\n".join(stats.stdout.splitlines()[1:])


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--times", type=int, default=4)
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        replicate_notes(args.input, args.times, tmp / "notes.parquet")
        graphs = []
        for name, overrides in (("per batch", ("graph.write_triples=1",)), ("gathered", ())):
            report, stats = run(tmp / "notes.parquet", args.config, tmp / name.replace(" ", "-"), *overrides)
            graphs.append(stats)
            write = report["stage_seconds"].get("write", 0.0)
            rows.append({"mode": name, "documents": report["documents_extracted"], "triples": report["triples"],
                         "graph_writes": report["graph_writes"], "write_seconds": round(write, 2),
                         "triples_per_write_second": round(report["triples"] / write) if write else None,
                         "wall_seconds": round(report["wall_seconds"], 1)})
    if graphs[0] != graphs[1]:
        raise SystemExit("the two runs gave different graphs:\n" + graphs[0] + "\n---\n" + graphs[1])
    emit({"benchmark": "etl run write stage, per batch vs gathered (FalkorDB)", "copies": args.times,
          "runs": rows, "write_seconds_ratio": round(rows[0]["write_seconds"] / max(rows[1]["write_seconds"], 1e-9), 2),
          "same_graph": True}, args.json_out)


if __name__ == "__main__":
    main()
