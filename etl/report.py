"""The run report: one JSON file per run plus a short human summary, and progress output.

Progress is a tqdm bar on a terminal and a plain log line every `interval` seconds otherwise
(cron mail and log files get readable lines, not carriage returns).
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


# The notes' rules' counts, as the summary prints them (when not zero).
RULE_COUNTS = (
    ("triples_dropped_as_normal", "extracted objects left out as normal states or exam words (律齐, 气管居中, "
                                  "膝腱反射: etl/notes/findings.py)"),
    ("triples_dropped_as_past_history", "triples of a past illness outside its own sentence and past operations "
                                        "given to a current disease left out (既往糖尿病7年, 既往行剖宫产手术: "
                                        "etl/notes/history.py)"),
    ("triples_from_lists", "symptoms added as the other items of a found one's list (伴反酸、嗳气: "
                           "etl/notes/lists.py)"),
    ("triples_dropped_as_site_apart", "sites whose sentence does not name their disease, symptoms of a "
                                      "differential diagnosis, findings outside the sentence of the exam's lesion "
                                      "or an ECG's reading, and findings told before a supplementary diagnosis "
                                      "given to it left out (etl/notes/attribution.py)"),
    ("triples_dropped_as_no_disease", "triples whose subject names no disease left out (瘢痕, 破伤风 of 破伤风抗毒素: "
                                      "etl/notes/findings.py)"),
)


@dataclass
class RunReport:
    run_id: str
    input: str
    sink: str
    started: str
    engine: str = "local"  # local | ray (etl/run/ray_engine.py)
    dry_run: bool = False
    full: bool = False
    finished: str = ""
    exit_code: int = 0
    rows_read: int = 0  # every input row: = extracted + skipped + quarantined
    documents_extracted: int = 0
    documents_skipped: int = 0  # unchanged since the last run (ledger)
    documents_quarantined: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    quarantine_file: str = ""
    windows: int = 0
    main_conditions: int = 0  # extracted documents whose main condition was found (etl/notes/conditions.py)
    span_queries: int = 0  # stage-2 questions asked
    triples: int = 0  # evidence rows written (after window merge and schema filter)
    graph_writes: int = 0  # sink writes (each: gathered documents, their evidence, their ledger entries)
    triples_asserted: int = 0  # of those, subject and object both present: they make typed relationships
    assertions: dict[str, dict[str, int]] = field(default_factory=dict)  # subject|object -> status -> count
    assertion_mentions: int = 0  # distinct subject/object places judged by the assertion stage
    triples_dropped_by_schema: int = 0
    triples_dropped_as_normal: int = 0  # objects that state a normal state, not a finding (etl/notes/findings.py)
    triples_dropped_as_past_history: int = 0  # a past illness's triples outside its sentence, a past operation
    # given to a current disease (etl/notes/history.py)
    triples_dropped_as_site_apart: int = 0  # sites whose sentence does not name their disease, symptoms of a
    # differential diagnosis, findings outside the sentence of the exam's lesion or an ECG's reading, findings
    # told before a supplementary diagnosis given to it (etl/notes/attribution.py)
    triples_from_lists: int = 0  # symptoms added as the other items of a found symptom's list (etl/notes/lists.py)
    triples_dropped_as_no_disease: int = 0  # a note's subject that names no disease (瘢痕: etl/notes/findings.py)
    triples_by_predicate: dict[str, int] = field(default_factory=dict)
    normalization: dict = field(default_factory=dict)  # entities (re-)linked to concepts after the writes
    # (etl/normalize.py)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    model_versions: dict[str, str] = field(default_factory=dict)
    runtime: dict = field(default_factory=dict)  # device, precision, XLA chosen by etl/runtime.py
    triples_out: str = ""
    input_files: list[str] = field(default_factory=list)  # every file read
    input_skipped: list[dict] = field(default_factory=list)  # [{file, reason}] found but not read
    warnings: list[str] = field(default_factory=list)  # e.g. metadata columns missing from a file
    stale_runs_closed: list[str] = field(default_factory=list)  # `running` Run nodes of killed runs
    error: str = ""

    @property
    def throughput(self) -> dict[str, float]:
        seconds = max(self.wall_seconds, 1e-9)
        return {"documents_per_s": round(self.documents_extracted / seconds, 2),
                "windows_per_s": round(self.windows / seconds, 2),
                "triples_per_s": round(self.triples / seconds, 2)}

    def as_dict(self) -> dict:
        data = asdict(self)
        data["throughput"] = self.throughput
        data["stage_seconds"] = {k: round(v, 3) for k, v in self.stage_seconds.items()}
        data["wall_seconds"] = round(self.wall_seconds, 3)
        return data

    def write(self, folder: str | Path) -> Path:
        """run-<id>.json in `folder`, whole or not at all (OSError when the folder cannot take it)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"run-{self.run_id}.json"
        write_atomic(path, json.dumps(self.as_dict(), ensure_ascii=False, indent=2) + "\n")
        return path

    def summary(self) -> str:
        rate = self.throughput
        lines = [
            f"run {self.run_id}: {self.rows_read} rows read -> {self.documents_extracted} extracted, "
            f"{self.documents_skipped} unchanged (skipped), {self.documents_quarantined} quarantined",
            f"  {self.windows} windows, {self.main_conditions} main conditions found, "
            f"{self.span_queries} span queries, {self.triples} triples "
            f"written to {self.sink}"
            + (" (dry run: nothing written)" if self.dry_run else f" in {self.graph_writes} write(s)"),
            f"  {self.triples_asserted} of them asserted (subject and object present: typed relationships); "
            + "; ".join(f"{role}s " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
                        for role, counts in sorted(self.assertions.items())),
            f"  {self.wall_seconds:.1f} s wall, {rate['documents_per_s']} docs/s, "
            f"{rate['windows_per_s']} windows/s, {rate['triples_per_s']} triples/s",
        ]
        if self.stage_seconds:
            lines.append("  time by stage: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.stage_seconds.items()))
        lines += [f"  {getattr(self, count)} {what}" for count, what in RULE_COUNTS if getattr(self, count)]
        if self.triples_by_predicate:
            top = sorted(self.triples_by_predicate.items(), key=lambda kv: -kv[1])[:8]
            lines.append("  top predicates: " + ", ".join(f"{p} {n}" for p, n in top))
        if self.quarantine_by_reason:
            lines.append("  quarantined: " + ", ".join(f"{r} {n}" for r, n in sorted(self.quarantine_by_reason.items()))
                         + f" -> {self.quarantine_file}")
        for warning in self.warnings:
            lines.append(f"  warning: {warning}")
        if self.input_skipped:
            lines.append(f"  {len(self.input_skipped)} file(s) under the input not read (listed in the report)")
        if self.stale_runs_closed:
            lines.append(f"  closed {len(self.stale_runs_closed)} run(s) left `running` by a killed etl: "
                         + ", ".join(self.stale_runs_closed))
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


def write_atomic(path: Path, text: str) -> None:
    """Write a temporary file beside `path`, then rename it: readers see the old file or the whole
    new one, never a part (a full disk leaves no empty report behind)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def check_writable(folder: str | Path, setting: str) -> None:
    """Before work starts: the folder exists or can be made, and takes a small file. ConfigError
    naming the setting otherwise (read-only, a file, full)."""
    from etl.errors import ConfigError

    folder = Path(folder)
    try:
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{setting} = {folder}: is a file, not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".etl-write-probe-{os.getpid()}"  # per process: runs may share the folder
        write_atomic(probe, "x" * 4096)
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"{setting} = {folder}: cannot write there ({error.strerror or error})") from None


class Progress:
    """Documents done / total with triples so far: a bar on a terminal, log lines otherwise."""

    def __init__(self, total: int | None, stream=None, interval: float = 30.0, force_plain: bool = False):
        self.stream = stream or sys.stderr
        self.total, self.interval = total, interval
        self.done = self.triples = 0
        self._start = self._last = time.monotonic()
        self._bar = None
        self._lock = threading.Lock()  # the reader and the writer threads both report progress
        if not force_plain and hasattr(self.stream, "isatty") and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="doc", file=self.stream, dynamic_ncols=True)

    def update(self, documents: int, triples: int = 0) -> None:
        with self._lock:
            self._update(documents, triples)

    def _update(self, documents: int, triples: int) -> None:
        self.done += documents
        self.triples += triples
        if self._bar is not None:
            self._bar.update(documents)
            self._bar.set_postfix(triples=self.triples, refresh=False)
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def line(self) -> str:
        elapsed = time.monotonic() - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        total = f"/{self.total}" if self.total is not None else ""
        return f"progress: {self.done}{total} rows, {rate:.1f} rows/s, {self.triples} triples, {elapsed:.0f}s"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.done:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
