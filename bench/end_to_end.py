"""End to end: `etl run` on the input into a fresh embedded FalkorDB (subprocess, like cron runs it).

    .venv/bin/python bench/end_to_end.py [--input notes.parquet] [--floor floor.json]

Prints wall time, the run report's stage times and throughput, and the ratio to the floor when a
floor result (bench/floor.py --json) is given.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, Clock, emit, parser


def run_etl(input_path: str, config: str, workdir: Path, extra=()) -> tuple[float, dict, int]:
    overrides = ["--set", f"graph.falkordb.data_dir={workdir / 'graph'}",
                 "--set", f"run.reports_dir={workdir / 'reports'}",
                 "--set", f"run.quarantine_dir={workdir / 'quarantine'}"]
    command = [sys.executable, "-m", "etl", "--config", config, *overrides, "run", "--input", input_path, *extra]
    clock = Clock()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = clock()
    if done.returncode not in (0, 2):
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"etl run failed with exit code {done.returncode}")
    report = json.loads(sorted((workdir / "reports").glob("run-*.json"))[-1].read_text(encoding="utf-8"))
    return seconds, report, done.returncode


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--floor", help="JSON written by bench/floor.py --json")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wall, report, code = run_etl(args.input, args.config, Path(tmp))
    figures = {"benchmark": "etl run end to end (embedded FalkorDB)", "exit_code": code,
               "wall_seconds_process": round(wall, 2), "pipeline_seconds": report["wall_seconds"],
               "documents": report["documents_extracted"], "windows": report["windows"],
               "span_queries": report["span_queries"], "triples": report["triples"],
               "stage_seconds": report["stage_seconds"], "throughput": report["throughput"]}
    if args.floor:
        floor = json.loads(Path(args.floor).read_text(encoding="utf-8"))
        figures["floor_documents_per_s"] = floor["documents_per_s"]
        figures["ratio_to_floor"] = round(report["throughput"]["documents_per_s"] / floor["documents_per_s"], 3)
    emit(figures, args.json_out)


if __name__ == "__main__":
    main()
