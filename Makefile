# sysgenpro.odoo_platform — one entry point for set-up, the demo and every test gate.
#   make demo   prepare everything and run playbooks/site.yml against the local lab
#   make test   every lint and test gate (what CI runs)
# Every target prepares what it needs and is quick when it is already there.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
COLLECTION_LINK := .ansible/collections/ansible_collections/sysgenpro/odoo_platform
INVENTORY ?= inventories/demo
PYTEST_ARGS ?=
# Extra ansible-playbook arguments for the demo, e.g. DEMO_ARGS="--limit wh-north" or
# DEMO_ARGS="-e odoo_platform_lock_break=true" after an interrupted run left a stale lock.
DEMO_ARGS ?=

export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.ansible/collections
export ANSIBLE_FORCE_COLOR := false

.PHONY: help venv collection lab lab-clean demo test lint yamllint ruff ansible-lint sanity units integration molecule doc-check build constraints clean

help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt constraints.txt
	@scripts/bootstrap.sh
	@python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt -c constraints.txt
	@touch $@

# Policy checker for rendered Kubernetes objects, in a venv of its own: checkov pins packaging
# and boto3 versions that would downgrade the main toolchain.
TOOLS_VENV := $(ROOT)/.venv-tools
$(TOOLS_VENV)/.installed: requirements/tools-constraints.txt
	@python3 -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install -q -c requirements/tools-constraints.txt checkov
	@touch $@

# Validators of Kubernetes CRD objects (npm, offline once installed): Traefik, Prometheus operator.
NODE_TOOLS := tools/k8s-validators tools/prometheus-validators
NODE_STAMPS := $(addsuffix /node_modules/.installed,$(NODE_TOOLS))
tools/%/node_modules/.installed: tools/%/package-lock.json
	cd tools/$* && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(COLLECTION_LINK):
	@mkdir -p $(dir $@)
	@ln -sfn ../../../.. $@

venv: $(BIN)/.installed $(TOOLS_VENV)/.installed $(NODE_STAMPS) $(COLLECTION_LINK)  ## Create .venv (+ .venv-tools) with the pinned toolchain; link the checkout
collection: $(COLLECTION_LINK)

lab: venv  ## Start Docker Engine and build the lab images that are missing or out of date
	@scripts/lab.sh up

lab-clean:  ## Remove only what the lab created (containers, networks, volumes, images labelled org.sysgenpro.lab)
	@scripts/lab.sh clean

demo: lab  ## The main job: run playbooks/site.yml against the demo estate
	ansible-playbook -i $(INVENTORY) playbooks/lab.yml
	ansible-playbook -i $(INVENTORY) playbooks/site.yml $(DEMO_ARGS)

test: lint units integration molecule  ## Every lint and test gate (CI runs this)

lint: yamllint ruff ansible-lint doc-check sanity  ## ansible-lint (production), yamllint, ruff, ansible-doc, ansible-test sanity

yamllint: venv
	yamllint --strict .

ruff: venv
	ruff check .
	ruff format --check .

ansible-lint: venv
	ansible-lint --profile production

doc-check: venv  ## Every plugin documents itself (ansible-doc) and the docs lint clean
	scripts/doc_check.sh

sanity: venv
	scripts/sanity.sh

units: venv  ## Unit tests (pure Python, no lab)
	pytest -q tests/unit $(PYTEST_ARGS)

integration: lab  ## Integration tests against the real lab (Docker Engine, real services)
	pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

MOLECULE_SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml)))

# Scenarios run MOLECULE_JOBS at a time (each waits on apt, systemd and its containers as much as on the CPU);
# each one's output goes to build/molecule/<scenario>.log and is printed when it ends.
MOLECULE_JOBS ?= 2
molecule: lab  ## Molecule scenarios of the roles (converge, idempotence, verify) on lab "VMs"
	@mkdir -p build/molecule
	@printf '%s\n' $(MOLECULE_SCENARIOS) | xargs -P $(MOLECULE_JOBS) -I{} sh -c \
	  'start=$$(date +%s); if scripts/molecule.sh {} > build/molecule/{}.log 2>&1; then r=passed; else r=FAILED; fi; \
	   echo "== molecule {}: $$r in $$(( $$(date +%s) - start )) s"; \
	   if [ $$r = FAILED ]; then tail -n 150 build/molecule/{}.log; exit 1; fi'


build: venv  ## Build the collection tarball (build_ignore keeps lab and test clutter out)
	ansible-galaxy collection build --force --output-path build/

constraints:  ## Re-pin constraints.txt from a fresh resolve of requirements.txt
	rm -rf build/constraints-venv && python3 -m venv build/constraints-venv
	build/constraints-venv/bin/pip install -q -r requirements.txt
	{ echo "# Generated with: pip freeze (Python 3.11, ansible 12.3.0 / ansible-core 2.19)."; \
	  echo "# Update: make constraints"; build/constraints-venv/bin/pip freeze; } > constraints.txt

clean:  ## Remove the venv, caches and build output (not the lab: see lab-clean)
	rm -rf .venv .venv-tools .ansible .cache build tests/output .pytest_cache .ruff_cache tools/*/node_modules
