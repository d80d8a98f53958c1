# sora-studio: the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAGE ?= dev

.PHONY: run test lint format bench deploy destroy package secrets clean

$(VENV)/.installed: pyproject.toml requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26.3"
	$(PY) -m pip install --quiet -r requirements.txt -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	PORT=$(PORT) $(PY) -m devserver

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.installed
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Browser tests run in their own pytest process: the local stack they drive is process-wide.
test: $(VENV)/.installed lint
	$(PY) -m pytest --ignore=tests/browser
	@if [ -d tests/browser ]; then $(PY) -m pytest tests/browser; fi

bench: $(VENV)/.installed
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

deploy: $(VENV)/.installed
	$(PY) -m infra.deploy deploy --stage $(STAGE)

destroy: $(VENV)/.installed
	$(PY) -m infra.deploy destroy --stage $(STAGE) $(if $(FORCE),--force,)

package: $(VENV)/.installed
	$(PY) -m infra.deploy package --stage $(STAGE)

secrets: $(VENV)/.installed
	$(PY) -m infra.deploy secrets --stage $(STAGE)

clean:
	rm -rf $(VENV) .data build test-artifacts .pytest_cache .ruff_cache
