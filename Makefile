# Two commands on a fresh machine:  make run   (the demo end to end)  and  make test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= 2
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-fast install docs lint bench screenshot clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,cluster]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) all

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

docs: $(STAMP)
	$(BIN)/df4lcz config-doc > docs/config.md

lint: $(STAMP)
	$(BIN)/ruff check src tests workflow_scripts bench
	$(BIN)/ruff format --check src tests workflow_scripts bench
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint
	$(BIN)/mypy src/df4lcz

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# the picture of the summary's first screen in the docs (after `make run`; needs Chromium)
screenshot: $(STAMP)
	PYTHON=$(BIN)/python docs/img/make_summary_screenshot.sh results/summary.html docs/img/summary_first_screen.png

clean:
	rm -rf results logs benchmarks .snakemake resources/demo
