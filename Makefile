# The two commands: `make lab` (set up and open the course) and `make test` (set up and run every test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test install lock bench students clean

# Serves the course folder (labs/, data/, docs/ reachable; ../ links work) and opens notebook 00; the printed URL
# opens 00 too, for a machine without a browser (add LAB_ARGS=--no-browser).
lab: $(STAMP)
	$(BIN)/lambdalab lab $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed (found %s)" % sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-pin requirements.lock from pyproject.toml in a throwaway venv.
lock:
	rm -rf /tmp/lambdalab-lock && $(PYTHON) -m venv /tmp/lambdalab-lock
	/tmp/lambdalab-lock/bin/pip install --quiet -e ".[dev]"
	{ echo "# Exact versions the two setup commands install (Python 3.11+). Regenerate with: make lock"; \
	  /tmp/lambdalab-lock/bin/pip freeze --exclude-editable; } > requirements.lock

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

students: $(STAMP)
	$(BIN)/lambdalab generate

clean:
	rm -rf $(VENV) .pytest_cache
