"""Shared set-up for the benchmarks: settings, the notes, the windows a run cuts from them."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTES = ROOT.parent / "shared" / "data" / "notes" / "ccks2017_notes.parquet"
sys.path.insert(0, str(ROOT))


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--input", default=str(NOTES), help="Parquet notes (default: the shared CCKS notes)")
    p.add_argument("--config", default=str(ROOT / "config.toml"))
    p.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    return p


def replicate_notes(source: str, times: int, target: Path) -> int:
    """`source` written `times` over to `target`, each copy under new ids (`<id>-copy<n>`), as an
    input `times` as large whose rows the ledger has never seen; returns the rows of one copy."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(source)
    with pq.ParquetWriter(target, table.schema) as writer:
        for copy in range(times):
            ids = pc.binary_join_element_wise(table["doc_id"], pa.scalar(f"copy{copy}"), "-")
            writer.write_table(table.set_column(table.schema.get_field_index("doc_id"), "doc_id", ids))
    return table.num_rows


def settings(config: str):
    from etl.config import load_settings

    return load_settings(config)


def documents(path: str):
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=["doc_id", "text"]).to_pylist()


def windows_of(docs, s):
    from etl.windows import make_windows

    return [(d["doc_id"], w) for d in docs for w in make_windows(d["text"], s.windows.max_chars, s.windows.overlap_chars)]


def load_models(s, assertion: bool = False):
    """(relations, spans) or, with `assertion`, (relations, spans, assertions)."""
    from etl.models.relation.model import RelationClassifier
    from etl.models.spans.model import SpanExtractor
    from etl.runtime import batch_size, configure

    info = configure(s.runtime)
    relations = RelationClassifier.load(s.relation.model_dir, batch_size=batch_size(s.runtime, "relation", info.device))
    spans = SpanExtractor.load(s.spans.model_dir, batch_size=batch_size(s.runtime, "spans", info.device))
    if not assertion:
        return relations, spans
    from etl.models.assertion.model import AssertionClassifier

    assertions = AssertionClassifier.load(s.assertion.model_dir,
                                          batch_size=batch_size(s.runtime, "assertion", info.device),
                                          decision=s.assertion.decision or None)
    return relations, spans, assertions


def emit(figures: dict, json_out: str | None) -> None:
    text = json.dumps(figures, ensure_ascii=False, indent=2)
    print(text)
    if json_out:
        Path(json_out).write_text(text + "\n", encoding="utf-8")


class Clock:
    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start
