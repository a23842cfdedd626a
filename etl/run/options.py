"""What a run takes from its settings: batch sizes, windows, limits, write gathering."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunOptions:
    read_batch_rows: int = 256
    max_text_chars: int = 200_000
    window_chars: int = 200
    window_overlap: int = 40
    model_batch_windows: int = 256  # windows per stage-1 call (across documents)
    limit: int | None = None
    full: bool = False  # ignore the ledger: re-extract every document
    queue_size: int = 4
    write_triples: int = 10_000  # evidence rows gathered into one sink write (graph.write_triples)
    write_seconds: float = 60.0  # longest a finished document waits for its write (graph.write_seconds)


def run_options(settings, **extra) -> RunOptions:
    """The options a run takes from its settings (`extra`: limit, full)."""
    return RunOptions(read_batch_rows=settings.input.read_batch_rows,
                      max_text_chars=settings.input.max_text_chars,
                      window_chars=settings.windows.max_chars,
                      window_overlap=settings.windows.overlap_chars,
                      write_triples=settings.graph.write_triples,
                      write_seconds=settings.graph.write_seconds, **extra)
