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

## Gateway and identity throughput with wrk against a release build of the stack
bench: deps
	scripts/bench.sh
	scripts/bench-gateway.sh
	scripts/bench-sms.sh
	scripts/bench-data.sh
	ENGINE=postgres scripts/with-postgres.sh scripts/bench-data.sh

clean:
	rm -rf .build .cloudgreet
