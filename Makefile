# What the README tells people to type.
SWIFT ?= swift

.PHONY: deps test-deps build run test lint format bench clean

deps:
	@scripts/install-deps.sh run

test-deps:
	@scripts/install-deps.sh test

build: deps
	$(SWIFT) build

## The whole stack on http://localhost:8080 with SQLite under ./.cloudgreet
run: build
	$(SWIFT) run cloudgreet

## Every test, on SQLite and on a throwaway PostgreSQL; then the API against its description
## (validator, schemathesis, the docs page in Chromium, both SDKs) and the containers
test: test-deps
	$(SWIFT) build --build-tests
	scripts/with-postgres.sh $(SWIFT) test --skip-build
	scripts/check-api.sh
	scripts/podman-stack-test.sh

## The tree as .swift-format wants it (CI fails otherwise); `make format` rewrites it so
lint:
	$(SWIFT) format lint --strict --recursive Package.swift Shared Services Tests

format:
	$(SWIFT) format format --in-place --recursive Package.swift Shared Services Tests

## Throughput, latency and instructions per request against a release build, each figure with its
## peer and the issue's goal; the table at the top of docs/BENCHMARKS.md is rewritten from the run
## (DURATION seconds per wrk run, default 5 here, which keeps the whole under 10 minutes on two
## cores; the results stay in .build/bench-results.tsv)
bench: export BENCH_RESULTS := $(abspath .build/bench-results.tsv)
bench: export DURATION ?= 5
bench: deps
	@mkdir -p .build && scripts/bench-report.py --start "$$BENCH_RESULTS"
	scripts/bench.sh
	scripts/bench-gateway.sh
	scripts/bench-instructions.sh
	scripts/bench-sms.sh
	scripts/bench-data.sh
	ENGINE=postgres scripts/with-postgres.sh scripts/bench-data.sh
	@scripts/bench-report.py --finish "$$BENCH_RESULTS"
	scripts/bench-report.py "$$BENCH_RESULTS" docs/BENCHMARKS.md

clean:
	rm -rf .build .cloudgreet
