# The two commands of the README: `make run` starts the local stack, `make test` checks and tests everything.
# Both create .venv with the pinned dependencies (constraints.txt) on first use.
PYTHON ?= python3
VENV := .venv
INSTALLED := $(VENV)/.installed
# checkov's own pins conflict with the project's (boto3, packaging, networkx): it lives apart, in
# $(CHECKOV_DIR), and tests/security/test_template_security.py runs it from there.
CHECKOV_DIR := $(VENV)/checkov
# What pytest runs (make test PYTEST_ARGS=tests/unit); a selection that collects no test fails (exit 5).
PYTEST_ARGS ?=
# The suite runs in PYTEST_WORKERS processes (pytest-xdist), each with its own local stack: one Python
# process uses one core at most (the GIL), and CI has two. Groups, in collection order: tests/conftest.py.
PYTEST_WORKERS ?= 2
PARALLEL := -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder
COVERAGE := --cov=functions --cov=infra --cov=cli --cov=measures --cov-report=term-missing:skip-covered

.PHONY: run test lint typecheck browser lock clean

$(INSTALLED): requirements-dev.txt constraints.txt functions/shared/requirements.txt pyproject.toml tests/security/checkov-requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps -e .
	rm -rf $(CHECKOV_DIR)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --target $(CHECKOV_DIR) -r tests/security/checkov-requirements.txt
	touch $@

run: $(INSTALLED)
	$(VENV)/bin/python -m infra

test: lint typecheck browser
	$(VENV)/bin/python -m pytest $(PARALLEL) $(COVERAGE) $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every function's app.py is the module `app`, importing its siblings as Lambda does: each is checked
# from its own directory, the shared package and the tools in one run. Every run reports, then any failure fails.
typecheck: $(INSTALLED)
	@status=0; \
	echo "mypy functions/shared/authflow infra cli measures tests"; \
	$(VENV)/bin/mypy functions/shared/authflow infra cli measures tests || status=1; \
	for function in functions/*/app.py; do \
		echo "mypy $$function (from its directory)"; \
		(cd $$(dirname $$function) && $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml app.py) || status=1; \
	done; \
	exit $$status

# The local console's browser test drives Debian's chromium (never a downloaded browser build). Where it
# is missing and we are root with apt-get, install it; if that fails the test skips with its reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && { \
		echo "installing Debian's chromium for the console's browser test"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } || \
		echo "chromium could not be installed: the browser test will be skipped"; }; } || true

# Re-pins constraints.txt after a change to requirements-dev.txt or functions/shared/requirements.txt.
lock: $(INSTALLED)
	$(VENV)/bin/python -m pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage

# The measures of the README (SPEC section 7): the cost per user from what a local run does, load and
# latency through the local API against Cognito alone, and each handler's cold start and package size.
.PHONY: cost bench coldstart

cost: $(INSTALLED)
	$(VENV)/bin/python -m measures.cost

# The bench's figures, then the user import test with 2 000 users (issue 14), which prints its rate.
bench: $(INSTALLED)
	$(VENV)/bin/python -m measures.bench
	AUTHFLOW_IMPORT_ROWS=2000 $(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/e2e/test_user_imports.py -k throttling

coldstart: $(INSTALLED)
	$(VENV)/bin/python -m measures.coldstart

# The deploy path (README, Deploy). `sam build` needs the functions' runtime, Python 3.13, on PATH: its
# python3.13 builder packages the functions, and the layer's Makefile (functions/shared/Makefile)
# compiles the layer's bytecode with it. infra/runtime_python.py finds it on PATH or in pyenv, or says
# how to get it; transitive versions come from constraints.txt, as in .venv.
# `make deploy ENV=prod PARAMS="MailFromAddress=... SesIdentityArn=..."` adds PARAMS to the
# environment's own parameters in samconfig.toml (infra/deploy.py) instead of replacing them.
.PHONY: build deploy
ENV ?= dev
PARAMS ?=

build:
	@runtime_python=$$($(PYTHON) -m infra.runtime_python 3.13) || exit 1; \
	command -v sam >/dev/null 2>&1 || { echo "make build: the AWS SAM CLI (sam) is not on PATH; README, Deploy, lists the prerequisites." >&2; exit 1; }; \
	echo "sam build --config-env $(ENV) with $$runtime_python"; \
	PATH="$$(dirname "$$runtime_python"):$$PATH" PIP_CONSTRAINT="$(CURDIR)/constraints.txt" sam build --config-env $(ENV)

deploy: $(INSTALLED)
	$(VENV)/bin/python -m infra.deploy $(ENV) $(PARAMS)
