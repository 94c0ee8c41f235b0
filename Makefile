# Two commands for a fresh machine with only Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck pytest test-postgres seed openapi bench bench-quick bench-compare bench-policy clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## make run: seed on first run, then start Changsha :8001, Zhuzhou :8002, Xiangtan :8003, gateway :8000
run: $(STAMP)
	$(BIN)/czt run

## make test: ruff, mypy and the whole pytest suite (SQLite)
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

## make test-postgres: the pytest suite against PostgreSQL (CZT_TEST_POSTGRES_URL, default the CI server)
test-postgres: $(STAMP)
	CZT_TEST_DATABASE=postgresql $(BIN)/pytest

seed: $(STAMP)
	$(BIN)/czt seed

## make openapi: export the OpenAPI documents (openapi/gateway.json, openapi/city-exchange.json) from the code
openapi: $(STAMP)
	$(BIN)/czt openapi export --out openapi

## make bench: the gateway beside its cities on a real stack (fan-out, overhead, throughput, audit, scale to
## 1,000,000 residents per city, memory); a table and bench/results/exchange-<date>.json (docs/performance.md)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.exchange --profile

## make bench-quick: the exchange figures only, without the long seeding of the scale figures
bench-quick: $(STAMP)
	$(BIN)/python -m bench.exchange --no-scale

## make bench-compare: every run in bench/results/ side by side, each judged figure against its target
## (VM=fc-v595 keeps one VM's runs; docs/performance.md)
bench-compare: $(STAMP)
	$(BIN)/python -m bench.compare $(if $(VM),--vm $(VM))

## make bench-policy: the policy lab's speed side by side with Cedar (cedarpy); writes bench/results/
bench-policy: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.policy_lab

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis .schemathesis
