# Single entry points. Every target works on a clean clone; `make setup` is implied.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
STATE_DIR ?= $(CURDIR)/.local
export HULEEDU_STATE_DIR := $(STATE_DIR)
# True when KUBECONFIG is unset or is the local ground's own (as .ci/run exports it).
ON_LOCAL_GROUND = { [ -z "$$KUBECONFIG" ] || [ "$$KUBECONFIG" = "$(STATE_DIR)/kubeconfig" ]; }

.PHONY: help setup lint fmt test test-unit test-integration test-kafka test-runtime test-tools test-e2e \
        cluster-up cluster-down cluster-status kafka-up kafka-down demo bench faults crd clean e2e-kind \
        images test-ground

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed ## create the venv and install the project with all extras

lint: setup ## ruff, ruff format --check, mypy --strict, import-linter
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

fmt: setup ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-unit: setup ## pure logic, no I/O
	$(VENV)/bin/pytest tests/unit -q

test-integration: setup ## needs the control plane (make cluster-up) or KUBECONFIG
	source <(scripts/local-cluster.sh env) && $(VENV)/bin/pytest tests/integration -q

test-kafka: setup ## the runtime against the real broker (make kafka-up)
	source <(scripts/kafka-local.sh env) && $(VENV)/bin/pytest tests/kafka -q

test-runtime: test-kafka ## old name of test-kafka

test-tools: setup ## helm, hadolint and child-process checks (no cluster; helm from `scripts/local-cluster.sh build`)
	$(VENV)/bin/pytest tests/tools -q

test: setup ## everything CI runs; starts the local ground (unless KUBECONFIG names another cluster), the broker and Prometheus
	@if $(ON_LOCAL_GROUND); then scripts/local-cluster.sh up; fi
	@if $(ON_LOCAL_GROUND) && scripts/local-cluster.sh has-real-node; then scripts/local-cluster.sh images; fi
	scripts/kafka-local.sh start
	@if $(ON_LOCAL_GROUND) && scripts/local-cluster.sh has-real-node; then scripts/prometheus-local.sh start; fi
	source <(scripts/local-cluster.sh env) && source <(scripts/kafka-local.sh env) && \
	  source <(scripts/prometheus-local.sh env) && \
	  $(VENV)/bin/pytest tests -q -m 'not slow and not ground'

test-e2e: setup ## real pods on the local ground's real node (or KUBECONFIG's cluster)
	source <(scripts/local-cluster.sh env) && source <(scripts/kafka-local.sh env) && \
	  source <(scripts/prometheus-local.sh env) && $(VENV)/bin/pytest tests/e2e -q

images: setup ## build the Dockerfile's runtime + operator images (buildah) and load them into the real node
	scripts/local-cluster.sh images

test-ground: setup ## local-cluster.sh up, down, up, down leaves the host as it was (needs the ground stopped)
	$(VENV)/bin/pytest tests/ground -q

e2e-kind: setup ## the e2e suite on kind with real images (needs Docker + kind)
	scripts/e2e-kind.sh

cluster-up: setup ## build (first time) and start the local control plane
	scripts/local-cluster.sh up

cluster-down: ## stop the local control plane and remove its state
	scripts/local-cluster.sh down

cluster-status:
	scripts/local-cluster.sh status

kafka-up: ## start the local Kafka broker
	scripts/kafka-local.sh start

kafka-down: ## stop the local Kafka broker
	scripts/kafka-local.sh stop

crd: setup ## regenerate crds/ and the chart's CRD from the API models
	$(VENV)/bin/huleedu-operator crd --output crds/huleedu.io_huleeduservices.yaml
	mkdir -p charts/huleedu-operator/crds
	cp crds/huleedu.io_huleeduservices.yaml charts/huleedu-operator/crds/

demo: setup ## run the operator on the local control plane (or $$KUBECONFIG) with the examples
	scripts/demo.sh

bench: setup ## benchmarks (not part of make test)
	$(PY) -m bench --own-cluster

faults: setup ## full fault-injection suite
	source <(scripts/local-cluster.sh env) && $(VENV)/bin/pytest tests -q -m slow

clean:
	rm -rf $(VENV) .local .mypy_cache .ruff_cache .pytest_cache
