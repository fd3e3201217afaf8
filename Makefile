# latcircle — every target is a thin call into the Python package (no logic of its own).
# `make demo` and `make test` create the virtual environment on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CITY   ?=

.PHONY: help install demo test city national bench lint mutate clean

help:
	@echo "make demo               set up, then run the synthetic demo metro -> outputs/demo/"
	@echo "make test               set up, then run the whole test suite"
	@echo "make city CITY=wuhan    run data/cities/<id>.yaml (fetching it first if missing)"
	@echo "make national           roll up outputs/*/ -> outputs/national/"
	@echo "make bench              benchmarks -> docs/performance.md"
	@echo "make lint               ruff check, ruff format --check, mypy"
	@echo "make mutate             inject the classic mistakes one at a time (minutes; not in test)"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,fetch,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/latcircle demo --data data/demo --out outputs/demo
	$(BIN)/latcircle -q national-rollup outputs/demo --out outputs/national

test: $(STAMP)
	$(BIN)/python -m pytest

city: $(STAMP)
	$(BIN)/latcircle city "$(CITY)"

national: $(STAMP)
	$(BIN)/latcircle national-rollup outputs/ --out outputs/national

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check latcircle tests benchmarks notebooks scripts
	$(BIN)/ruff format --check latcircle tests benchmarks notebooks scripts
	$(BIN)/mypy

mutate: $(STAMP)
	$(BIN)/python scripts/mutate.py

clean:
	rm -rf data/demo outputs/demo .pytest_cache .hypothesis
