# The two commands: `make lab` (set up and open the course) and `make test` (set up and run every test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test install lock bench students clean

# Jupyter refuses to run as root unless told; containers and cloud workstations often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/00_start_here.ipynb

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
