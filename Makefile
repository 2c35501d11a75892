# One command to set up and run the main job, one to set up and pass the tests (see README).
PYTHON ?= python3
VENV ?= .venv
# Linux without a GPU takes MLX's CPU backend; a Mac gets Metal from the plain mlx wheel.
EXTRAS ?= $(shell [ "$$(uname -s)" = Darwin ] && echo test || echo cpu,test)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $@

.PHONY: setup demo test lint
setup: $(VENV)/.installed

demo: setup  ## three synthetic twins, offline: results under ./results, report under ./reports
	HF_HUB_OFFLINE=1 $(VENV)/bin/grid run smoke

test: setup
	./scripts/system-deps.sh
	$(VENV)/bin/python -m pytest -q

lint: setup  ## the layer contract (import-linter) and ruff (lint + format check)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
