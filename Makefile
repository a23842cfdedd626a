# The two commands a newcomer runs on a fresh machine (each builds .venv and installs everything):
#   make demo   runs the main job on the shipped example with the embedded defaults
#   make test   runs the linter and the test suite (the same command .ci/run runs)
# and one for the edit-test loop:
#   make check  the linter and the tests that need no server and train no model (under a minute)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test check demo clean neo4j-server

venv: $(STAMP)

# Two pip steps: tf-keras and bert4keras declare dependencies that would pull a second TensorFlow
# or Keras 1, so they go in with --no-deps (see ../shared/notes/STACK.md and requirements.txt).
$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@$(PYTHON) -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version" || { echo "need Python 3.11: make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# npm tools the tests use, each a pinned package in tools/<name>/ reinstalled only when its
# package files change (Node.js >= 20 with npm):
# - tools/cypher-lint: Neo4j's own Cypher linter, for tests/graph/test_cypher_lint.py;
# - tools/browser-check: playwright-core driving headless Chromium for
#   tests/graph/test_neo4j_browser.py (the browser itself is Debian's `chromium`; .ci/run installs it).
LINT_STAMP := tools/cypher-lint/node_modules/.installed
BROWSER_STAMP := tools/browser-check/node_modules/.installed

tools/%/node_modules/.installed: tools/%/package.json tools/%/package-lock.json
	@command -v npm >/dev/null || { echo "need Node.js >= 20 with npm (for tools/$*)"; exit 1; }
	cd tools/$* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# A real Neo4j 5.26 Community server for the graph tests and benchmarks (tools/neo4j-server/):
# a pinned Maven project. The first build downloads ~150 MB from Maven Central into ~/.m2; later
# builds work offline from there. Needs OpenJDK 17 and Maven 3.8+.
NEO4J_SERVER := tools/neo4j-server
NEO4J_JAR := $(NEO4J_SERVER)/target/neo4j-test-server.jar

neo4j-server: $(NEO4J_JAR)

$(NEO4J_JAR): $(NEO4J_SERVER)/pom.xml $(shell find $(NEO4J_SERVER)/src -name '*.java')
	@command -v mvn >/dev/null && command -v java >/dev/null || { echo "need OpenJDK 17 and Maven (for the Neo4j test server in $(NEO4J_SERVER))"; exit 1; }
	cd $(NEO4J_SERVER) && mvn -B -q --no-transfer-progress -Dstyle.color=never package
	touch $(NEO4J_JAR)

test: $(STAMP) $(LINT_STAMP) $(BROWSER_STAMP) $(NEO4J_JAR)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# Markers: tests/conftest.py marks a test `server` or `slow` by the fixtures it uses.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not server and not slow"

# The main job on the example notes into the embedded FalkorDB under var/, then one template.
# Exit code 2 (some rows quarantined) still shows the query; anything else stops here. The query
# is the overview template (best supported relationships), so a second `make demo` (everything
# skipped as unchanged) shows the same rows.
demo: $(STAMP)
	$(BIN)/etl run --input examples/notes.parquet --triples-out var/demo-triples.parquet; \
	  code=$$?; [ $$code -eq 0 ] || [ $$code -eq 2 ] || exit $$code
	$(BIN)/etl query top_relationships --param limit=20

clean:
	rm -rf $(VENV) var $(NEO4J_SERVER)/target
