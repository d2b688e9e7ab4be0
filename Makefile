# jiaofu — `make help` lists the targets.
.PHONY: help run test test-pg lint bench simulate crash fuzz

help: ## this list
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: ## run everything in one process (embedded Temporal, worker, API on :8080)
	go run ./cmd/jiaofu

test: ## the test suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
	go test ./...

test-pg: ## the test suite with the store tests on the local PostgreSQL as well
	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test -count=1 ./...

lint: ## gofmt and go vet
	test -z "$$(gofmt -l .)"
	go vet ./...

bench: ## performance benchmarks (prints a table, writes bench-results.json)
	go run ./cmd/jiaofu bench

simulate: ## a simulated term checked by an oracle (SEED=1; writes sim-results.json outside the tree: /tmp)
	go run ./cmd/jiaofu simulate -seed $${SEED:-1} -json /tmp/sim-results.json

crash: ## kill the all-in-one process (SIGKILL) ≥5 times under a mixed load, then check the store (SEED=1; writes /tmp/crash-results.json)
	go run ./cmd/jiaofu crash -seed $${SEED:-1} -json /tmp/crash-results.json

# Every package with a Fuzz target; `go test -fuzz` takes one target of one package per run.
FUZZ_PKGS ?= $(sort $(patsubst %/,%,$(dir $(shell grep -rl --include='*_test.go' '^func Fuzz' .))))
FUZZTIME ?= 30s

fuzz: ## run every Fuzz target for FUZZTIME each (30s; FUZZ_PKGS, FUZZFLAGS=-parallel=1); a failing input is kept in testdata/fuzz/
	@set -e; for pkg in $(FUZZ_PKGS); do \
	  for target in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$target ($(FUZZTIME))"; \
	    go test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $$pkg; \
	  done; \
	done
