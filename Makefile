# The two quick-start commands: `make demo` and `make test`. Each sets up what it needs.
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install -q --python $(PY) -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ozbot demo

test: $(STAMP)
	scripts/services-up
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check bot flows tests bench
	$(VENV)/bin/ruff format --check bot flows tests bench
	$(VENV)/bin/mypy
