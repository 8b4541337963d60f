# flask-platform: every user-facing command. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCAL_STAMP := $(VENV)/.local-stamp
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp

# make local / make address / make docker-run
PORT ?= 5000
EMULATOR_PORT ?= 4566
AWS_REGION ?= us-east-1
DYNAMODB_TABLE ?= users
S3_BUCKET ?= users-avatars
LOG_LEVEL ?= INFO
GUNICORN_WORKERS ?= 2
GUNICORN_WORKER_CONNECTIONS ?= 1000
SERVER ?= gunicorn
AUTH ?= off
ISSUER_PORT ?= 4580
# make token
SCOPE ?= users:write
EXPIRES ?= 3600
LAMBDA_TIMEOUT ?= 15
PENDING_MAX_AGE ?= 1200
IMAGE ?= flask-platform/users-api:dev
# make loadtest
SCENARIO ?= smoke
TIME_SCALE ?= 1
TARGET_RPS ?= 0
MAX_IN_FLIGHT ?= 50
PROCESSES ?= 0
RESULTS ?=
THRESHOLDS ?=
AVATAR_MIX ?=
# make compare / compare-local
STACKS ?=
KUBECONFIG_FILE ?=
RATE ?= 5
COST_RPS ?= 50
# make localdev, make minikube-image
STACK ?= minikube
MINIKUBE_PROFILE ?= minikube
# make package-lambda
RUNTIME ?= python3.12
ARCH ?= arm64

.PHONY: help
help: ## Show this list of commands
	@awk 'BEGIN {FS = ":.*## "; print "Usage: make <target> [VAR=value ...]\n"} \
	  /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@printf '\nVariables: PORT=%s EMULATOR_PORT=%s AWS_REGION=%s DYNAMODB_TABLE=%s S3_BUCKET=%s\n' \
	  '$(PORT)' '$(EMULATOR_PORT)' '$(AWS_REGION)' '$(DYNAMODB_TABLE)' '$(S3_BUCKET)'
	@printf '           LOG_LEVEL=%s GUNICORN_WORKERS=%s GUNICORN_WORKER_CONNECTIONS=%s IMAGE=%s\n' \
	  '$(LOG_LEVEL)' '$(GUNICORN_WORKERS)' '$(GUNICORN_WORKER_CONNECTIONS)' '$(IMAGE)'
	@printf '           SERVER=%s (make local, make loadtest) LAMBDA_TIMEOUT=%s RUNTIME=%s ARCH=%s\n' \
	  '$(SERVER)' '$(LAMBDA_TIMEOUT)' '$(RUNTIME)' '$(ARCH)'
	@printf '           AUTH=%s ISSUER_PORT=%s (make local: on, a local token issuer) SCOPE=%s EXPIRES=%s (make token)\n' \
	  '$(AUTH)' '$(ISSUER_PORT)' '$(SCOPE)' '$(EXPIRES)'
	@printf '           SCENARIO=%s TIME_SCALE=%s TARGET_RPS=%s MAX_IN_FLIGHT=%s PROCESSES=%s THRESHOLDS=%s\n' \
	  '$(SCENARIO)' '$(TIME_SCALE)' '$(TARGET_RPS)' '$(MAX_IN_FLIGHT)' '$(PROCESSES)' '$(THRESHOLDS)'
	@printf '           RESULTS=%s (make loadtest-cleanup; HOST_ADDRESS from the env)\n' '$(RESULTS)'
	@printf '           AVATAR_MIX=%s (the avatars sign-ups upload, FORMAT:SIZE,...; empty: the default mix)\n' '$(AVATAR_MIX)'
	@printf '           STACKS=%s RATE=%s COST_RPS=%s STACK=%s\n' '$(STACKS)' '$(RATE)' '$(COST_RPS)' '$(STACK)'
	@printf '           KUBECONFIG_FILE=%s CLI_TIMEOUT=%s (seconds make address/kubeconfig wait for pulumi, kubectl)\n' \
	  '$(KUBECONFIG_FILE)' '$(or $(CLI_TIMEOUT),60)'

# Two steps into one .venv: what `make local` needs (the app and the emulator, seconds), then the
# whole toolchain (Pulumi, Helm's library, Locust, linters, ...) for the commands that need it.
$(LOCAL_STAMP): requirements-local.txt app/requirements.txt app/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "make: Python 3.11 or newer is needed as '$(PYTHON)'; install it or run make PYTHON=python3.12 ..." >&2; exit 1; }
	@echo "Installing the API and its AWS emulator into $(VENV) (on the first run, and when its pins change) ..."
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-local.txt
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --config-settings editable_mode=compat -e app
	@touch $@

$(STAMP): $(LOCAL_STAMP) requirements-dev.txt requirements-chart.txt requirements.txt plugins/fargate/pyproject.toml
	@echo "Installing the development toolchain into $(VENV) (on first use, and when its pins change; a few minutes) ..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r requirements-chart.txt
	@# The fargate backend is its own package, found through its entry point; its pins are requirements.txt's.
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --config-settings editable_mode=compat \
	  -e plugins/fargate
	@touch $@

# checkov pins an older boto3 exactly, so it gets a virtual environment of its own.
$(CHECKOV_STAMP): requirements-checkov.txt
	@echo "Creating checkov's own virtual environment in $(CHECKOV_VENV) (first run only) ..."
	@[ -x $(CHECKOV_VENV)/bin/python ] || $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

.PHONY: venv
venv: $(STAMP) ## Create or update the project's virtual environment (.venv) with the whole toolchain

.PHONY: local
local: $(LOCAL_STAMP) ## Run the API on 127.0.0.1:PORT with an embedded AWS emulator, until Ctrl-C (SERVER=gunicorn|lambda)
	@$(BIN)/python -m devtools.local_stack --port '$(PORT)' --emulator-port '$(EMULATOR_PORT)' \
	  --region '$(AWS_REGION)' --table '$(DYNAMODB_TABLE)' --bucket '$(S3_BUCKET)' --log-level '$(LOG_LEVEL)' \
	  --workers '$(GUNICORN_WORKERS)' --worker-connections '$(GUNICORN_WORKER_CONNECTIONS)' \
	  $(if $(filter command line environment,$(origin GUNICORN_THREADS)),--retired-threads '$(GUNICORN_THREADS)') \
	  --server '$(SERVER)' --lambda-timeout '$(LAMBDA_TIMEOUT)' --pending-max-age '$(PENDING_MAX_AGE)' \
	  --auth '$(AUTH)' --issuer-port '$(ISSUER_PORT)' \
	  $(if $(filter command line environment,$(origin BACKEND)),--retired-backend '$(BACKEND)')

.PHONY: token
token: $(LOCAL_STAMP) ## Print an access token from `make local AUTH=on`'s issuer (SCOPE, EXPIRES seconds, ISSUER_PORT)
	@$(BIN)/python -m devtools.token --issuer-port '$(ISSUER_PORT)' --scope '$(SCOPE)' --expires '$(EXPIRES)'

.PHONY: address
address: ## Print `export HOST_ADDRESS=...` for the selected stack, or the local address
	@$(PYTHON) -m devtools.address --port '$(PORT)'

.PHONY: kubeconfig
kubeconfig: ## Write the eks stack's kubeconfig (mode 600; KUBECONFIG_FILE) and print `export KUBECONFIG=...`
	@$(PYTHON) -m devtools.kubeconfig --file '$(KUBECONFIG_FILE)'

.PHONY: lint
lint: $(STAMP) ## Check style and types (ruff, mypy)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: format
format: $(STAMP) ## Rewrite the code in the project's style (ruff)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: test
test: lint $(CHECKOV_STAMP) ## Lint, then run every test (unit, integration, infra, chart, load tests)
	CHECKOV='$(CHECKOV_VENV)/bin/checkov' $(BIN)/pytest

.PHONY: chart
chart: $(STAMP) $(CHECKOV_STAMP) ## Test the Helm chart only: render, lint, Kubernetes schemas, checkov
	CHECKOV='$(CHECKOV_VENV)/bin/checkov' $(BIN)/pytest tests/chart

.PHONY: unit
unit: $(STAMP) ## Run the unit tests only (fast, in-process emulator)
	$(BIN)/pytest tests/unit

.PHONY: integration
integration: $(STAMP) ## Run the integration tests only (real moto server and gunicorn processes)
	$(BIN)/pytest tests/integration

.PHONY: bench
bench: $(STAMP) ## Measure CPU per request, time to first response and to ready (printed, never asserted)
	$(BIN)/python -m devtools.bench

.PHONY: loadtest
loadtest: $(STAMP) ## Run SCENARIO (smoke, steady, ramp, spike, soak) against HOST_ADDRESS or a fresh local stack (SERVER=gunicorn|lambda)
	$(BIN)/python -m loadtests.run --scenario '$(SCENARIO)' --server '$(SERVER)' --time-scale '$(TIME_SCALE)' \
	  --target-rps '$(TARGET_RPS)' --max-in-flight '$(MAX_IN_FLIGHT)' --processes '$(PROCESSES)' \
	  $(if $(THRESHOLDS),--thresholds-file '$(THRESHOLDS)') $(if $(AVATAR_MIX),--avatar-mix '$(AVATAR_MIX)') \
	  $(if $(HOST_ADDRESS),--host '$(HOST_ADDRESS)') $(if $(RESULTS),--results '$(RESULTS)') \
	  $(if $(filter command line,$(origin BACKEND)),--backend '$(BACKEND)')

.PHONY: loadtest-cleanup
loadtest-cleanup: $(STAMP) ## Delete the test users a killed load test left (RESULTS=results/<run>; HOST_ADDRESS to override its host)
	$(BIN)/python -m loadtests.cleanup --results '$(RESULTS)' $(if $(HOST_ADDRESS),--host '$(HOST_ADDRESS)')

.PHONY: compare
compare: $(STAMP) ## Run SCENARIO at RATE against each Pulumi stack in STACKS; one side-by-side report with costs
	@[ -n '$(STACKS)' ] || { echo 'make compare: name the stacks, e.g. make compare STACKS="lambda-dev eks-dev"' >&2; exit 2; }
	$(BIN)/python -m loadtests.compare --stacks $(STACKS) --scenario '$(SCENARIO)' --rate '$(RATE)' \
	  --time-scale '$(TIME_SCALE)' --cost-rps '$(COST_RPS)'

.PHONY: compare-local
compare-local: $(STAMP) ## The same comparison for the local container path and the local Lambda path
	$(BIN)/python -m loadtests.compare --local --scenario '$(SCENARIO)' --rate '$(RATE)' \
	  --time-scale '$(TIME_SCALE)' --cost-rps '$(COST_RPS)'

.PHONY: minikube-image
minikube-image: ## Build the app image into Minikube (MINIKUBE_PROFILE), tagged with the app's content digest
	@$(PYTHON) -m devtools.minikube_image --check --profile '$(MINIKUBE_PROFILE)'
	@$(MAKE) $(STAMP)
	$(BIN)/python -m devtools.minikube_image --profile '$(MINIKUBE_PROFILE)'

.PHONY: localdev
localdev: ## Create and configure a Minikube stack in one step (STACK, EMULATOR_PORT, MINIKUBE_PROFILE), then pulumi up
	@$(PYTHON) -m devtools.localdev --check --stack '$(STACK)' --emulator-port '$(EMULATOR_PORT)' \
	  --profile '$(MINIKUBE_PROFILE)'
	@$(MAKE) $(STAMP)
	$(BIN)/python -m devtools.localdev --stack '$(STACK)' --emulator-port '$(EMULATOR_PORT)' \
	  --profile '$(MINIKUBE_PROFILE)'

.PHONY: package-lambda
package-lambda: $(STAMP) ## Build the Lambda zip for RUNTIME (python3.12) and ARCH (arm64) into .build/lambda
	$(BIN)/python -m devtools.package_lambda --runtime '$(RUNTIME)' --architecture '$(ARCH)'

.PHONY: schema
schema: $(STAMP) ## Regenerate provider/schema.json, the component package's schema, from its annotations
	$(BIN)/python -m backends.package_schema

.PHONY: docker-build
docker-build: ## Build the app's container image as IMAGE (needs a Docker engine)
	docker build --tag '$(IMAGE)' app

.PHONY: docker-run
docker-run: ## Run IMAGE on PORT, configured from AWS_REGION, DYNAMODB_TABLE, S3_BUCKET and your AWS_* variables
	$(if $(filter command line,$(origin GUNICORN_THREADS)),$(error GUNICORN_THREADS does nothing now (gevent workers): set GUNICORN_WORKER_CONNECTIONS (connections per worker; default 1000)))
	docker run --rm --init --publish '$(PORT):5000' --read-only --tmpfs /tmp \
	  --env AWS_REGION='$(AWS_REGION)' --env DYNAMODB_TABLE='$(DYNAMODB_TABLE)' --env S3_BUCKET='$(S3_BUCKET)' \
	  --env LOG_LEVEL='$(LOG_LEVEL)' --env GUNICORN_WORKERS='$(GUNICORN_WORKERS)' \
	  --env GUNICORN_WORKER_CONNECTIONS='$(GUNICORN_WORKER_CONNECTIONS)' \
	  --env AWS_ENDPOINT_URL --env AWS_ACCESS_KEY_ID --env AWS_SECRET_ACCESS_KEY --env AWS_SESSION_TOKEN \
	  '$(IMAGE)'

.PHONY: clean
clean: ## Remove the virtual environments, caches, build output (egg-info, build, dist) and local logs
	rm -rf $(VENV) $(CHECKOV_VENV) .local .bench .build results .pytest_cache .mypy_cache .ruff_cache \
	  build dist app/build app/dist
	find . \( -name __pycache__ -o -name '*.egg-info' \) -type d -prune -exec rm -rf {} +
