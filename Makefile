# One entry point for people and CI. Every target installs what it needs first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SHARED ?= $(abspath ../shared/datasets)

# The shared datasets are used where a checkout has them beside it; elsewhere the data root stays the user's own
# (tests that need a dataset the project may not ship then skip, naming it).
ifneq ($(wildcard $(SHARED)),)
export SOCIALGRAPH_DATA ?= $(SHARED)
endif

.PHONY: install demo test test-fresh bench clean

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

# The suite as a stranger's machine runs it: an empty data root, home and cache, no network.
test-fresh: install
	@tmp=$$(mktemp -d); mkdir -p $$tmp/data $$tmp/home; \
	env -u SOCIALGRAPH_CACHE -u XDG_CACHE_HOME SOCIALGRAPH_DATA=$$tmp/data HOME=$$tmp/home SOCIALGRAPH_OFFLINE=1 \
	  HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 -q -p no:cacheprovider; rc=$$?; rm -rf $$tmp; exit $$rc

bench: install
	$(VENV)/bin/socialgraph benchmark all --out benchmarks/results

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
