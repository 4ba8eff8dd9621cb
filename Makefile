# The two commands of the README quick start, and the pieces they are made of.
# Needs only Python 3.11+ and make: everything else is installed into .venv from the lock file.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out

.PHONY: demo test check lint typecheck layers unit lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("leadflow needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## demo: install, then qualify the bundled sample leads and show the decisions
demo: $(STAMP)
	@mkdir -p $(OUT)
	$(BIN)/leadflow sample $(OUT)/sample
	$(BIN)/leadflow qualify --playbook specialty-clinic \
		--leads $(OUT)/sample/leads.csv --events $(OUT)/sample/events.csv \
		--as-of 2026-03-06T12:00:00+00:00 -o $(OUT)/decisions.jsonl
	$(BIN)/leadflow show $(OUT)/decisions.jsonl

## test: install, then run every check: lint, format, types, layer contracts, the test suite
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports
	$(BIN)/pytest

## lock: re-pin every dependency with hashes (needs network access to the package index)
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --generate-hashes \
		--python-version 3.11 --universal -o requirements.lock

clean:
	rm -rf $(VENV) $(OUT) .mypy_cache .ruff_cache .pytest_cache
