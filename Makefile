# The two commands of the README quick start, and the pieces they are made of.
# Needs only Python 3.11+ and make: everything else is installed into .venv from the lock file.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out
PORT   ?= 8000
DEMO_LEADS ?= 1500
DEMO_DB    ?= sqlite:///$(OUT)/demo.db

.PHONY: demo test check lint typecheck layers unit lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("leadflow needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## demo: install, fill a demo database with a year of Northwind Health leads, serve the dashboard
demo: $(STAMP)
	@mkdir -p $(OUT)
	$(BIN)/leadflow demo --database-url $(DEMO_DB) --leads $(DEMO_LEADS) --port $(PORT)

## test: install, then run every check: lint, format, types, layer contracts, the test suite
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src tests/fakes
	$(BIN)/lint-imports
	$(BIN)/pytest

## lock: re-pin every dependency with hashes (needs network access to the package index)
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --generate-hashes \
		--python-version 3.11 --universal -o requirements.lock

clean:
	rm -rf $(VENV) $(OUT) .mypy_cache .ruff_cache .pytest_cache
