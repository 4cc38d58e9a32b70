# The two commands of the README: `make run` starts the local stack, `make test` runs the whole suite.
# Both create .venv with the pinned dependencies (constraints.txt) on first use.
PYTHON ?= python3
VENV := .venv
INSTALLED := $(VENV)/.installed

.PHONY: run test lock clean

$(INSTALLED): requirements-dev.txt constraints.txt functions/shared/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

run: $(INSTALLED)
	$(VENV)/bin/python -m infra

test: $(INSTALLED)
	$(VENV)/bin/python -m pytest

# Re-pins constraints.txt after a change to requirements-dev.txt or functions/shared/requirements.txt.
lock: $(INSTALLED)
	$(VENV)/bin/python -m pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache
