# ContextIQ: `make run` starts the whole service locally, `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAGE ?= dev
PORT ?= 8000
CDK := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx -y aws-cdk@2
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# The SAM CLI lives in its own virtualenv: its pins are not ours (tests/infra/test_sam.py runs it).
# cfn-lint is pinned to the version of our dev extra, so `sam validate --lint` is the same linter.
SAM_VENV ?= .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)

.PHONY: install sam-cli sam-template run reset test test-fast lint fmt synth layers deploy account-setup bench openapi clean

install: $(STAMP)

# Idempotent: re-runs only when pyproject.toml changes. torch comes first, pinned to the CPU build
# that `pip install torch==2.13.0` finds on these machines (otherwise sentence-transformers would pull CUDA).
$(STAMP): pyproject.toml sdk/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[local,dev,auth]' -e './sdk[mcp,langgraph,adk]'
	touch $(STAMP)

# ~70 s once (about 340 MB); re-runs only when SAM_CLI_VERSION changes.
sam-cli: $(SAM_STAMP)

$(SAM_STAMP):
	test -x $(SAM_VENV)/bin/python || python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION) cfn-lint==1.58.0
	touch $(SAM_STAMP)

# The `sam local invoke` variant of a stage for this machine's architecture: cdk.out/sam/ContextIQ-$(STAGE).template.json
# (docs/infrastructure.md, "SAM local"). Never deploy it.
sam-template: install
	$(PY) scripts/sam_template.py $(STAGE)

run: install
	$(VENV)/bin/contextiq local --port $(PORT) $(ARGS)

# Start empty on purpose: deletes .contextiq/ (tables, queues, index, generated key), then runs.
reset: install
	$(VENV)/bin/contextiq local --reset --port $(PORT) $(ARGS)

test: install sam-cli
	$(PY) -m pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -n 2 -q -m "not e2e and not infra and not minilm" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/core/python/contextiq functions infra scripts sdk/src/contextiq_sdk

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

layers: install
	$(PY) scripts/build_layers.py

synth: layers
	$(CDK) synth -c stage=$(STAGE) --quiet

deploy: layers
	$(CDK) deploy ContextIQ-$(STAGE) -c stage=$(STAGE) --require-approval broadening

# Once per account and region, before the first stage: API Gateway's account-wide logging role.
account-setup: layers
	$(CDK) deploy ContextIQ-ApiGatewayAccount -c stage=$(STAGE) --require-approval broadening

bench: install
	$(PY) scripts/bench.py

openapi: install
	$(PY) scripts/export_openapi.py

clean:
	rm -rf cdk.out layers/build .pytest_cache .mypy_cache .ruff_cache
