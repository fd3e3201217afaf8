# latcircle — every target is a thin call into the Python package (no logic of its own).
# `make demo` and `make test` create the virtual environment on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CITY   ?=
EXTRAS := test,fetch,bench
# Every install is pinned by the lock file (pip constraints): two installs a month apart get
# the same packages. `make lock` regenerates it from a fresh venv (the documented upgrade).
LOCK   := requirements.lock
LOCKENV := .lock-venv

.PHONY: help install demo test test-assets city national bench lint mutate clean lock assets

help:
	@echo "make demo               set up, then run the synthetic demo metro -> outputs/demo/"
	@echo "make test               set up, then run the whole test suite"
	@echo "make city CITY=wuhan    run data/cities/<id>.yaml (fetching it first if missing)"
	@echo "make national           roll up outputs/*/ -> outputs/national/"
	@echo "make bench              benchmarks -> docs/performance.md"
	@echo "make lint               ruff check, ruff format --check, mypy"
	@echo "make mutate             inject the classic mistakes one at a time (minutes; not in test)"
	@echo "make lock               re-resolve every dependency (latest allowed) -> $(LOCK)"
	@echo "make assets             re-vendor the map's Leaflet files (npm) -> latcircle/present/assets"

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[$(EXTRAS)]'
	# An editable install writes no bytecode (and PYTHONDONTWRITEBYTECODE may forbid runs to).
	$(BIN)/python -m compileall -q latcircle
	# The pages' Jinja2 templates compiled likewise (kept only while their source is unchanged).
	$(BIN)/python -m latcircle.present.templating
	touch $(STAMP)

# A fresh venv, the newest versions pyproject.toml allows, frozen. Commit the result.
lock:
	rm -rf $(LOCKENV)
	$(PYTHON) -m venv $(LOCKENV)
	$(LOCKENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCKENV)/bin/python -m pip install --quiet '.[$(EXTRAS)]'
	{ echo "# pip constraints for every install (make install); regenerate with make lock"; \
	  echo "# python $$($(LOCKENV)/bin/python -c 'import platform; print(platform.python_version())')"; \
	  $(LOCKENV)/bin/python -m pip freeze --exclude-editable | grep -v '^latcircle[= @]'; \
	} > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)
	rm -rf $(LOCKENV) build

assets: $(STAMP)
	$(BIN)/python -m latcircle.present.assets

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/latcircle demo --data data/demo --out outputs/demo
	$(BIN)/latcircle -q national-rollup outputs/demo --out outputs/national

# The npm packages the browser tests serve from loopback (tests/cdn_replay.py), fetched here,
# before the tests, so that no test reaches a registry (without npm the browser tests skip).
NPM_CACHE := tests/.artifacts/npm

test-assets: $(STAMP)
	$(BIN)/python tests/cdn_replay.py prefetch $(NPM_CACHE)

# One worker process per core (at most 4; the shared demo and Wuhan runs are built once per
# run, by the first worker that needs them); TEST_WORKERS=0 runs the suite serially in one
# process (docs/testing.md).
TEST_WORKERS ?= auto

# pytest keeps each test module as rewritten for its assertions (tests/__pycache__, ignored by
# git) unless bytecode is forbidden, as this machine's PYTHONDONTWRITEBYTECODE=1 does: then
# every worker rewrites every module on every run, 6 of its 10 s of collection CPU
# (docs/testing.md, session round 17). The test run writes bytecode whatever that says.
test: $(STAMP) test-assets
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadscope --no-loadscope-reorder

city: $(STAMP)
	$(BIN)/latcircle city "$(CITY)"

national: $(STAMP)
	$(BIN)/latcircle national-rollup outputs/ --out outputs/national

bench: $(STAMP)
	# A run as installed: the templates' code current (an edit since install is compiled per run).
	$(BIN)/python -m latcircle.present.templating
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check latcircle tests benchmarks notebooks scripts
	$(BIN)/ruff format --check latcircle tests benchmarks notebooks scripts
	$(BIN)/mypy

mutate: $(STAMP)
	$(BIN)/python scripts/mutate.py

clean:
	rm -rf data/demo outputs/demo .pytest_cache .hypothesis $(LOCKENV)
