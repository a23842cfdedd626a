# The two commands a newcomer runs on a fresh machine (each builds .venv and installs everything):
#   make demo   runs the main job on the shipped example with the embedded defaults
#   make test   runs the test suite (the same command .ci/run runs)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test demo clean

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

# Neo4j's own Cypher linter (npm), used by tests/graph/test_cypher_lint.py; reinstalled only when
# its package files change. Needs Node.js >= 20 with npm.
LINT := tools/cypher-lint
LINT_STAMP := $(LINT)/node_modules/.installed

$(LINT_STAMP): $(LINT)/package.json $(LINT)/package-lock.json
	@command -v npm >/dev/null || { echo "need Node.js >= 20 with npm (for the Cypher linter in $(LINT))"; exit 1; }
	cd $(LINT) && npm ci --no-audit --no-fund --loglevel=error
	touch $(LINT_STAMP)

test: $(STAMP) $(LINT_STAMP)
	$(BIN)/python -m pytest -q

# The main job on the example notes into the embedded FalkorDB under var/, then one template.
# Exit code 2 (some rows quarantined) still shows the query; anything else stops here. The query
# is the overview template (best supported relationships), so a second `make demo` (everything
# skipped as unchanged) shows the same rows.
demo: $(STAMP)
	$(BIN)/etl run --input examples/notes.parquet --triples-out var/demo-triples.parquet; \
	  code=$$?; [ $$code -eq 0 ] || [ $$code -eq 2 ] || exit $$code
	$(BIN)/etl query top_relationships --param limit=20

clean:
	rm -rf $(VENV) var
