"""Neo4j Browser, served by the test Neo4j, shows an analyst the rows a template returns.

Headless Chromium (Debian's `chromium`) driven by playwright-core (tools/browser-check, installed by
`make test`) opens Browser, connects to the session Neo4j with its password, and is given a
template's Browser lines (`:params {...}`, then `:param name => value` for each integer) and the
template's text as an analyst pastes them; the rows of Browser's result table must be the rows the
same template returns through the driver. The page is saved to var/browser/template.png.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from etl.graph.templates import browser_params, load_templates

from .test_templates import build

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "browser-check"
SCREENSHOT = ROOT / "var" / "browser" / "template.png"
TEMPLATE = "symptoms_of_disease"  # strings, an integer, and floats in its rows


def chromium() -> str:
    """Debian's Chromium (`apt-get install chromium`); CI installs it (.ci/run), so there it must run."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "Chromium is not installed: `apt-get install chromium` (Debian) runs the Neo4j Browser test"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def in_browser(server, commands: list[str], browser: str) -> dict:
    """Browser's table after running `commands` one by one: {"columns": [...], "rows": [[text]]}."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed: the Browser test needs node (>= 20) and npm")
    if not (TOOL / "node_modules" / "playwright-core").is_dir():
        pytest.fail(f"playwright-core is not installed: run `make test` (or `npm ci` in {TOOL})")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    request = {"url": server.browser_url, "bolt": server.uri, "user": server.user,
               "password": server.password, "commands": commands, "screenshot": str(SCREENSHOT),
               "chromium": browser}
    done = subprocess.run([node, "browser.mjs"], cwd=TOOL, input=json.dumps(request, ensure_ascii=False),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{done.stderr.strip()[-2000:]}\n(screenshot: {SCREENSHOT})"
    return json.loads(done.stdout)


def cell(value) -> str:
    """A value as Browser's table shows it: strings in double quotes, integers and (this template's,
    never whole) floats in their shortest round-trip form, which JavaScript and Python's repr share."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


@pytest.fixture
def browser_target(neo4j_server):
    if neo4j_server.server is None:  # NEO4J_TEST_URI: a server this session did not start
        pytest.skip("an external Neo4j (NEO4J_TEST_URI): the Browser test needs the test server's HTTP")
    # The fixture turns HTTP on whenever this test is collected: without it, that is a bug.
    assert neo4j_server.server.http_url is not None, "the session's Neo4j test server has no HTTP connector"
    return neo4j_server


def test_a_template_pasted_into_neo4j_browser_shows_the_drivers_rows(browser_target, make_neo4j_sink):
    browser = chromium()
    build(make_neo4j_sink())
    template = load_templates()[TEMPLATE]
    through_driver = browser_target.execute(template.text, **browser_params(template))
    assert len(through_driver) == 3  # the hand-made graph: a table worth comparing

    shown = in_browser(browser_target.server, [*template.browser_lines, template.text], browser)

    # browser_url's ?dbms= filled the connect form with the real Bolt port (not Browser's 7687).
    assert shown["offered"].endswith(f"127.0.0.1:{browser_target.server.bolt_port}")
    assert shown["columns"] == list(through_driver[0])
    assert shown["rows"] == [[cell(v) for v in row.values()] for row in through_driver]
