"""Every statement the Neo4j writer can emit (all label / relationship-type combinations) and every
query template is valid Neo4j 5 Cypher according to Neo4j's own linter
(@neo4j-cypher/language-support, installed in tools/cypher-lint by `make test`)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from etl.graph.neo4j.dialect import schema_statements
from etl.graph.statements import INTERNAL_LABELS, INTERNAL_REL_TYPES, StatementBuilder
from etl.graph.templates import browser_params, load_templates
from etl.schema import load_schema


# end to end with the shipped or tiny trained models: `make test` only, not `make check`
pytestmark = pytest.mark.slow

LINT_DIR = Path(__file__).resolve().parents[2] / "tools" / "cypher-lint"


def lint(statements: list[dict]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed: the Neo4j Cypher linter needs node (>= 20) and npm")
    if not (LINT_DIR / "node_modules" / "@neo4j-cypher" / "language-support").is_dir():
        pytest.fail(f"the Cypher linter is not installed: run `make test` (or `npm ci` in {LINT_DIR})")
    schema = load_schema()
    payload = {"statements": statements,
               "labels": [*schema.labels, *INTERNAL_LABELS],
               "relationshipTypes": [*schema.rel_types, *INTERNAL_REL_TYPES]}
    done = subprocess.run([node, "lint.mjs"], cwd=LINT_DIR, input=json.dumps(payload, ensure_ascii=False),
                          capture_output=True, text=True, timeout=900)
    if done.returncode not in (0, 1):
        pytest.fail(f"the linter failed to run: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def errors_of(results: list[dict]) -> list[str]:
    return [f"{r['name']}: {d['message']}\n{r['query']}" for r in results for d in r["diagnostics"]
            if d["severity"] == "error"]


def test_every_writer_statement_passes_neo4js_linter():
    builder = StatementBuilder(load_schema(), batch_size=10)
    statements = builder.every_statement() + schema_statements(builder.index_specs())
    assert len({s.text for s in statements}) > 53 + 11  # every (label, type, label) group and label
    distinct = {s.text: s for s in statements}.values()  # same text, same verdict: lint once
    results = lint([{"name": s.name, "query": s.text, "parameters": s.params} for s in distinct])
    assert errors_of(results) == []


def test_every_template_passes_neo4js_linter():
    templates = load_templates()
    results = lint([{"name": t.name, "query": t.text, "parameters": browser_params(t)}
                    for t in templates.values()])
    assert len(results) == len(templates)
    assert errors_of(results) == []


def test_the_linter_does_catch_errors():
    results = lint([{"name": "bad", "query": "MATCH (n:Disease) RETURN indegree(n), m"}])
    messages = " ".join(d["message"] for d in results[0]["diagnostics"])
    assert "indegree" in messages and "`m` not defined" in messages
