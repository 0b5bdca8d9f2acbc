# Two commands on a fresh machine: `make report` and `make test`. Each sets up what is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The study size: `make report SEEDS=10 POLYTOPES=5`; unset, the default study of harness/config.py.
SEEDS ?=
POLYTOPES ?=

.PHONY: setup report test test-harness test-claims bench browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch first, pinned to the CPU build that lies on this kind of machine's disk; the project
# itself only asks for a normal range.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

# Debian's headless Chromium, for the report's browser test (skipped where it cannot be had).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed; the browser test will be skipped"; \
	  fi; }

report: setup
	$(BIN)/python -m harness report $(if $(SEEDS),--seeds $(SEEDS)) $(if $(POLYTOPES),--polytopes $(POLYTOPES)) --out reports/latest

test: setup browser
	$(BIN)/python -m pytest tests -n auto -q
	$(BIN)/python -m pytest claims -n auto -q; rc=$$?; [ $$rc -eq 5 ] && echo "no claim selected" && rc=0; exit $$rc

bench: setup
	$(BIN)/python -m harness bench

clean:
	rm -rf $(VENV) .cache reports/latest
