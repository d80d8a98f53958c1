# sora-studio: the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAGE ?= dev

.PHONY: run test test-fast lint format bench deploy destroy package secrets clean

# Bytecode (and pytest's rewritten test modules) is kept in __pycache__ even where the
# environment asks Python not to write it: each test worker and child process collects and
# imports in 3.7 s instead of 5.9 s.
unexport PYTHONDONTWRITEBYTECODE

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

# The inner loop: every test but the browser, gateway (LiteLLM), vendor SDK (npm) and end-to-end
# ones (devserver child processes, whole deploys), a test file at a time on three workers
# (on two cores: a third of the time a worker waits on the simulator or a child process).
FAST := not browser and not gateway and not vendor_sdk and not e2e
test-fast: $(VENV)/.installed lint
	$(PY) -m pytest --ignore=tests/browser -m "$(FAST)" -n 3 --dist loadfile

# Everything. The browser tests run in their own pytest session on two workers (each with its
# own local stack and Chromium, both mostly waiting on renders and polls), alongside the others
# on three (a test file each); the browser output follows theirs. Fails if either fails.
test: $(VENV)/.installed lint
	@if [ ! -d tests/browser ]; then exec $(PY) -m pytest -n 3 --dist loadfile; fi; \
	log=$$(mktemp); \
	$(PY) -m pytest tests/browser -n 2 --dist load -o cache_dir=.pytest_cache/browser >"$$log" 2>&1 & browser=$$!; \
	$(PY) -m pytest --ignore=tests/browser -n 3 --dist loadfile; others=$$?; \
	wait $$browser; browser_status=$$?; \
	echo "== tests/browser (ran alongside the others): exit $$browser_status"; \
	cat "$$log"; rm -f "$$log"; \
	[ $$others -eq 0 ] && [ $$browser_status -eq 0 ]

# Every benchmark runs; fails if any missed a budget.
bench: $(VENV)/.installed
	@failed=0; for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || failed=1; done; \
	exit $$failed

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
