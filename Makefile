# The two quick-start commands: `make demo` and `make test`. Each sets up what it needs.
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
UV    := $(VENV)/bin/uv
# The uv that writes and reads uv.lock. `uv sync --locked` installs exactly what the lock pins
# and refuses a lock older than pyproject.toml (run `.venv/bin/uv lock`).
UV_VERSION := 0.13.9

.PHONY: demo test lint bench

$(STAMP): pyproject.toml uv.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(UV) --version 2>/dev/null | grep -qF "uv $(UV_VERSION) " \
	  || $(VENV)/bin/pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --quiet
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
	$(VENV)/bin/lint-imports --no-cache
