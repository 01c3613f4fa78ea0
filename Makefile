# Two commands matter: `make run` and `make test`. Everything else is a helper.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
FLASK   := $(BIN)/flask --app app

.PHONY: run test bench bench-scale lint clean

$(BIN)/flask: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/flask
	$(FLASK) db upgrade
	@# The worker runs beside the web server (never inside create_app); both stop together.
	$(FLASK) tracker worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

test: $(BIN)/flask
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(ARGS)

bench: $(BIN)/flask
	$(BIN)/python bench/run_all.py

# The figures at 10,000 and 100,000 learners on both engines, in one table (about 40 minutes
# the first time, with seeding; about 20 after).
bench-scale: $(BIN)/flask
	$(BIN)/python bench/scale.py

lint: $(BIN)/flask
	$(BIN)/pip install --quiet ruff mypy
	$(BIN)/ruff check . && $(BIN)/mypy tracker

clean:
	rm -rf $(VENV) instance/*.sqlite* test-output
