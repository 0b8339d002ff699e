# What the README tells people to type.
SWIFT ?= swift

.PHONY: deps build run test bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## The whole stack on http://localhost:8080 with SQLite under ./.cloudgreet
run: build
	$(SWIFT) run cloudgreet

## Every test, on SQLite and on a throwaway PostgreSQL
test: deps
	$(SWIFT) build --build-tests
	scripts/with-postgres.sh $(SWIFT) test --skip-build

## Gateway and identity throughput with wrk against a release build of the stack
bench: deps
	scripts/bench.sh

clean:
	rm -rf .build .cloudgreet
