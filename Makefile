# One entry point for people and CI. Every target installs what it needs first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SHARED ?= $(abspath ../shared/datasets)

export SOCIALGRAPH_DATA ?= $(SHARED)

.PHONY: install demo test bench clean

install: $(STAMP)

# The CPU build of torch goes in first: a bare `torch` requirement would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/socialgraph demo

test: install
	$(PY) -m pytest -n 2 -q

bench: install
	$(VENV)/bin/socialgraph benchmark all --out benchmarks/results

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
