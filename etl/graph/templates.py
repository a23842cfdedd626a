"""The Cypher query templates in `cypher/queries/`: found, described, parameters typed, run.

Each template starts with comment lines: a one-line description, then
`// Parameters: $name (type[, default V][, one of A|B|C]) text; ...`, a `// :params {...}` line
to paste into Neo4j Browser and, for each integer parameter, a `// :param name => value` line to
paste after it (Browser makes every number of `:params` a float, and LIMIT takes only an integer;
`=>` has the server evaluate the value, which keeps it an integer). Templates take values only as
parameters; `etl query` fills them from `--param key=value`, converted by the declared type
(string, integer, number, list of strings).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from etl.errors import EtlError
from etl.graph.names import normalize_name

QUERIES_DIR = Path(__file__).resolve().parents[2] / "cypher" / "queries"
_PARAM = re.compile(r"\$(\w+)\s*\(([^)]*)\)")
# Integer parameters are counts (every one a LIMIT): both stores take 0 .. 2^31 - 1 alike.
MAX_INTEGER = 2**31 - 1


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # string | integer | number | list of strings
    default: object = None
    choices: tuple[str, ...] = ()  # the only values a string parameter takes, when declared

    @property
    def required(self) -> bool:
        return self.default is None

    def convert(self, text: str):
        try:
            if self.type == "integer":
                value = int(text)
                if not 0 <= value <= MAX_INTEGER:  # FalkorDB's LIMIT wraps past 2^32: 2^32 + 1 gave 1 row
                    raise EtlError(f"--param {self.name} must be an integer from 0 to {MAX_INTEGER}, got {text!r}")
                return value
            if self.type == "number":
                value = float(text)
                if not math.isfinite(value):
                    raise EtlError(f"--param {self.name} must be a finite number, got {text!r}")
                return value
        except ValueError:
            raise EtlError(f"--param {self.name} must be {'an' if self.type == 'integer' else 'a'} "
                           f"{self.type}, got {text!r}") from None
        if self.type.startswith("list"):
            if text.strip().startswith("["):
                try:
                    items = json.loads(text)
                except ValueError:
                    raise EtlError(f"--param {self.name}: not a JSON list: {text!r}") from None
            else:
                items = [part for part in re.split(r"[,，]", text) if part.strip()]
            return [normalize_name(str(item)) for item in items]
        # Names are stored normalised (NFKC, trimmed): look them up the same way.
        value = normalize_name(text)
        if self.choices and value not in self.choices:
            # A typo would otherwise match nothing and look like an empty answer.
            raise EtlError(f"--param {self.name} must be one of {', '.join(self.choices)}, got {text!r}")
        return value


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    description: str
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)
    browser_params: str = ""  # the `:params {...}` line
    text: str = ""
    browser_lines: tuple[str, ...] = ()  # every `:param(s)` line, in the order to paste them

    def bind(self, given: dict[str, str]) -> dict:
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise EtlError(f"template {self.name!r} has no parameter {', '.join(unknown)} "
                           f"(it takes: {', '.join(known) or 'none'})")
        params = {}
        for p in self.parameters:
            if p.name in given:
                params[p.name] = p.convert(given[p.name])
            elif p.required:
                raise EtlError(f"template {self.name!r} needs --param {p.name}=... ({p.type})")
            else:
                params[p.name] = p.default
        return params


def parse_template(path: Path) -> Template:
    text = path.read_text(encoding="utf-8")
    header = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        header.append(line[2:].strip())
    if not header:
        raise ValueError(f"{path}: a template must start with a // comment describing it")
    described = " ".join(header).split("Parameters:", 1)
    params_text = described[1].split(":params", 1)[0] if len(described) > 1 else ""
    parameters = []
    for name, spec in _PARAM.findall(params_text):
        parts = [p.strip() for p in spec.split(",")]
        default, choices = None, ()
        for part in parts[1:]:
            if part.startswith("default"):
                raw = part.removeprefix("default").strip()
                default = int(raw) if raw.lstrip("-").isdigit() else raw
            elif part.startswith("one of"):
                choices = tuple(c.strip() for c in part.removeprefix("one of").split("|"))
        parameters.append(Parameter(name, parts[0], default, choices))
    lines = tuple(h for h in header if h.startswith(":params") or h.startswith(":param "))
    browser = next((h for h in lines if h.startswith(":params")), "")
    description = header[0]
    return Template(path.stem, path, description, tuple(parameters), browser, text, lines)


def load_templates(directory: Path | None = None) -> dict[str, Template]:
    directory = directory or QUERIES_DIR
    if not directory.is_dir():
        raise EtlError(f"query templates folder not found: {directory}")
    return {t.name: t for t in (parse_template(p) for p in sorted(directory.glob("*.cypher")))}


def browser_params(template: Template) -> dict:
    """The example values of the `:params {...}` line, as Python (for tests and --list)."""
    body = template.browser_params.split("{", 1)[1].rsplit("}", 1)[0] if "{" in template.browser_params else ""
    # The line is a Cypher map of identifiers, quoted strings, numbers and lists: make it JSON.
    as_json = re.sub(r"'((?:[^'\\]|\\.)*)'", lambda m: json.dumps(m.group(1)), body)
    as_json = re.sub(r"(^|[{,]\s*)([A-Za-z_]\w*)\s*:", r'\1"\2":', as_json)
    return json.loads("{" + as_json + "}")
