# Keyport's front door: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests' JavaScript (axe-core); npm ci again only when the lock file changes.
NODE_STAMP := node_modules/.installed
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run test test-fast test-postgres test-browser lint fmt migrate demo clean mutate bench

# Installs again only when a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Keyport needs Python 3.11 or newer: make PYTHON=python3.12 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "The browser tests need Node.js and npm (apt-get install nodejs npm)." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable

demo: migrate
	DEBUG=true $(BIN)/python manage.py seed_demo
	@touch var/.demo-seeded

# Seeds the demo data once (var/.demo-seeded remembers); `make demo` runs the seeder again.
# seed_demo refuses to run with DEBUG off (its staff have a published password): both are development.
run: migrate
	@test -f var/.demo-seeded || { DEBUG=true $(BIN)/python manage.py seed_demo && touch var/.demo-seeded; }
	@DEBUG=true scripts/serve.sh

test: $(STAMP)
	$(BIN)/python -m pytest

# The inner loop: the suite on SQLite without the tests marked slow (demo seeding, benchmarks),
# in two processes (pytest-xdist), one a core.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not browser and not slow" -n 2

test-postgres: $(STAMP)
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest

test-browser: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -m browser

# Every benchmark against its same-run baseline, ending in one table (docs/benchmarks.md):
# under 10 minutes on 2 cores; PostgreSQL too when DATABASE_URL is set; BENCH_ARGS=--full for
# the recorded scale.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# Mutation testing of the door rules (mutation/targets.txt), on SQLite; docs/mutation.md says more.
# make mutate MUTATE=sign-in runs one target set (mutation/score.py's TARGET_SETS).
MUTATE ?=
mutate: $(STAMP)
	rm -rf mutants; mkdir -p var
	set -f; env -u DATABASE_URL $(BIN)/mutmut run $$($(BIN)/python mutation/score.py --globs $(MUTATE)) > var/mutmut.log 2>&1 \
	  || { tail -n 40 var/mutmut.log; exit 1; }
	$(BIN)/python mutation/score.py $(MUTATE)

# mypy checks the product (keyport/); the tests are checked by running them, and carry no type comments.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy keyport

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules var mutants .pytest_cache .mypy_cache .ruff_cache test-results
