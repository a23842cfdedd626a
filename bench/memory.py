"""Memory: peak RSS of `etl run --dry-run` on the notes and on the notes replicated N times
(new ids per copy), each in its own process. Target: peak(N x) <= 1.2 x peak(1 x).

    .venv/bin/python bench/memory.py [--input notes.parquet] [--rows N] [--times 10] [--json out.json]

Dry run: the store is not the thing being measured here, and the run is the same code path up
to the sink (the embedded FalkorDB server is a separate process with its own memory anyway).
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, emit, input_notes, parser
from synthetic import replicate_notes


def peak_rss_mb(input_path: str, config: str, workdir: Path) -> float:
    code = (
        "import resource, runpy, sys\n"
        "sys.argv = ['etl'] + sys.argv[1:]\n"
        "try:\n"
        "    runpy.run_module('etl', run_name='__main__')\n"
        "finally:\n"
        "    print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    command = [sys.executable, "-c", code, "--config", config,
               "--set", f"run.reports_dir={workdir / 'reports'}", "--set", f"run.quarantine_dir={workdir / 'q'}",
               "run", "--dry-run", "--input", input_path]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_KB")]
    if done.returncode not in (0, 2) or not peak:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit("etl run failed")
    return int(peak[-1].split()[1]) / 1024


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--times", type=int, default=10, help="copies of the input in the large run")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = input_notes(args, tmp)
        rows = replicate_notes(source, args.times, tmp / "big.parquet")
        one = peak_rss_mb(source, args.config, tmp / "one")
        many = peak_rss_mb(str(tmp / "big.parquet"), args.config, tmp / "many")
    emit({"benchmark": "peak RSS, etl run --dry-run", "rows_1x": rows,
          f"rows_{args.times}x": rows * args.times, "peak_mb_1x": round(one, 1),
          f"peak_mb_{args.times}x": round(many, 1), "ratio": round(many / one, 3)}, args.json_out)


if __name__ == "__main__":
    main()
