"""Shared set-up for the benchmarks: the command line, settings, the notes, the windows a run cuts
from them, the models, the figures printed (and written as JSON). The inputs the benches make are in
synthetic.py."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTES = ROOT.parent / "shared" / "data" / "notes" / "ccks2017_notes.parquet"
sys.path.insert(0, str(ROOT))


def parser(description: str, rows: bool = True) -> argparse.ArgumentParser:
    """The options every bench takes; `rows`: it reads --input, and --rows N cuts it (tiny runs)."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(ROOT / "config.toml"))
    p.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    if rows:
        p.add_argument("--input", default=str(NOTES), help="Parquet notes (default: the shared CCKS notes)")
        p.add_argument("--rows", type=int, default=0, help="only the first N rows of the input (0: all)")
    return p


def input_notes(args, workdir: Path) -> str:
    """The input the bench reads: --input, or its first --rows rows written under `workdir`."""
    from synthetic import first_rows

    return str(first_rows(args.input, args.rows, Path(workdir) / f"first-{args.rows}.parquet"))


def settings(config: str):
    from etl.config import load_settings

    return load_settings(config)


def documents(path: str, rows: int = 0):
    """The notes of `path` as {doc_id, text}: all, or the first `rows`."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["doc_id", "text"])
    return (table.slice(0, rows) if rows > 0 else table).to_pylist()


def windows_of(docs, s):
    from etl.windows import make_windows

    return [(d["doc_id"], w) for d in docs
            for w in make_windows(d["text"], s.windows.max_chars, s.windows.overlap_chars)]


def load_models(s, assertion: bool = False):
    """(relations, spans) or, with `assertion`, (relations, spans, assertions), loaded through the
    model registry as a run loads them, but not warmed up: the benches time their own first calls."""
    from etl.models.registry import load_model, model_dir
    from etl.runtime import batch_size, configure

    info = configure(s.runtime)

    def load(kind: str, **options):
        return load_model(kind, model_dir(s, kind), batch_size=batch_size(s.runtime, kind, info.device),
                          warm_up=False, **options)

    relations, spans = load("relation"), load("spans")
    if not assertion:
        return relations, spans
    return relations, spans, load("assertion", decision=s.assertion.decision or None)


def emit(figures: dict, json_out: str | None) -> None:
    text = json.dumps(figures, ensure_ascii=False, indent=2)
    print(text)
    if json_out:
        Path(json_out).write_text(text + "\n", encoding="utf-8")


def shown(path: Path) -> str:
    """`path` relative to the project when it is inside it (as the figures have always named it)."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


class Clock:
    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start
