"""End to end: `etl run` on the input into a fresh embedded FalkorDB (subprocess, like cron runs it).

    .venv/bin/python bench/end_to_end.py [--input notes.parquet] [--rows N] [--floor floor.json | --measure-floor]
                                         [--assertion-cost N] [--json out.json]

Prints wall time, the run report's stage times and throughput, and the ratio to the floor when a
floor result (bench/floor.py --json) is given, or measured first in the same invocation
(`--measure-floor`: bench/floor.py runs, then the run, so both see the same machine; target: the
run >= 0.8 x the floor). `--assertion-cost N` also measures what the assertion stage costs: N
pairs of runs without it (`assertion.enabled=false`) and with it, alternating in one invocation
(the machine is shared and noisy), each into a fresh store, and reports the ratio of the median
wall times (target: <= 1.15).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, Clock, emit, input_notes, parser


def run_etl(input_path: str, config: str, workdir: Path, extra=(), settings=()) -> tuple[float, dict, int]:
    overrides = [*settings, "--set", f"graph.falkordb.data_dir={workdir / 'graph'}",
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


def assertion_cost(input_path: str, config: str, pairs: int) -> dict:
    """Median wall seconds of `etl run` without and with the assertion stage, alternating."""
    walls: dict[str, list[float]] = {"without": [], "with": []}
    pipeline: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(pairs):
        for name, extra_set in (("without", ["--set", "assertion.enabled=false"]), ("with", [])):
            with tempfile.TemporaryDirectory() as tmp:
                wall, report, _ = run_etl(input_path, config, Path(tmp), (), extra_set)
            walls[name].append(wall)
            pipeline[name].append(report["wall_seconds"])

    def median(values):
        return sorted(values)[len(values) // 2]
    return {"pairs": pairs, "process_seconds": walls, "pipeline_seconds": pipeline,
            "process_ratio_with_to_without": round(median(walls["with"]) / median(walls["without"]), 3),
            "pipeline_ratio_with_to_without": round(median(pipeline["with"]) / median(pipeline["without"]), 3)}


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--floor", help="JSON written by bench/floor.py --json")
    p.add_argument("--measure-floor", action="store_true", help="run bench/floor.py first, in this invocation")
    p.add_argument("--assertion-cost", type=int, default=0, metavar="N",
                   help="also run N alternating pairs without/with the assertion stage and report the ratio")
    args = p.parse_args(argv)
    if args.measure_floor and args.floor:
        raise SystemExit("--floor and --measure-floor exclude each other")
    with tempfile.TemporaryDirectory() as tmp:
        source = input_notes(args, Path(tmp))  # the floor, the run and the assertion pairs read the same
        if args.measure_floor:
            args.floor = str(Path(tmp) / "floor.json")
            subprocess.run([sys.executable, str(ROOT / "bench" / "floor.py"), "--input", source,
                            "--config", args.config, "--json", args.floor], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        figures = measure(source, args)
    emit(figures, args.json_out)


def measure(source: str, args) -> dict:
    """One `etl run` of `source`, against the floor and with the assertion pairs when asked."""
    with tempfile.TemporaryDirectory() as tmp:
        wall, report, code = run_etl(source, args.config, Path(tmp))
    figures = {"benchmark": "etl run end to end (embedded FalkorDB)", "exit_code": code,
               "wall_seconds_process": round(wall, 2), "pipeline_seconds": report["wall_seconds"],
               "documents": report["documents_extracted"], "windows": report["windows"],
               "span_queries": report["span_queries"], "triples": report["triples"],
               "triples_asserted": report.get("triples_asserted"), "assertions": report.get("assertions"),
               "model_versions": report["model_versions"],
               "stage_seconds": report["stage_seconds"], "throughput": report["throughput"]}
    if args.floor:
        floor = json.loads(Path(args.floor).read_text(encoding="utf-8"))
        figures["floor_documents_per_s"] = floor["documents_per_s"]
        figures["floor"] = floor
        figures["ratio_to_floor"] = round(report["throughput"]["documents_per_s"] / floor["documents_per_s"], 3)
    if args.assertion_cost:
        figures["assertion_cost"] = assertion_cost(source, args.config, args.assertion_cost)
    return figures


if __name__ == "__main__":
    main()
