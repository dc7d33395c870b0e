# EduSmartHub. `make run` starts the service with an embedded PostgreSQL
# cluster under ./.data; `make test` runs every test against throwaway
# clusters. `make help` lists the targets.

GO         ?= go
BIN        ?= bin/edusmarthub
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PG_BIN_DIR ?= $(or $(EDUSMARTHUB_PG_BIN_DIR),/usr/lib/postgresql/15/bin)
# The version listed as installable from the Go module proxy; pinned so
# lint results do not change under us.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

# token: make token ROLE=school_admin SCHOOL=<uuid> [SUB=<id>] [TTL=1h]
ROLE   ?= platform_admin
SCHOOL ?=
SUB    ?=
TTL    ?=

.DEFAULT_GOAL := help
.PHONY: help run build test vet fmt-check lint staticcheck bench migrate token deps check-deps clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Built first and run directly (not `go run`), so Ctrl-C and SIGTERM reach
# the service itself and it shuts down gracefully.
run: build ## Serve on :8080 with an embedded PostgreSQL under ./.data (data persists)
	$(BIN) serve

# No -trimpath: it would rebuild everything outside the cache that tests
# and go run share (the container image build uses it).
build: ## Build bin/edusmarthub
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/edusmarthub

test: check-deps vet ## go vet, then every test with the race detector
	$(GO) test -race -count=1 ./...

vet: ## go vet ./...
	$(GO) vet ./...

fmt-check: ## Fail if any file needs gofmt
	@files="$$(git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './.data/*')"; \
	out="$$( [ -z "$$files" ] || gofmt -l $$files)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

lint: fmt-check vet staticcheck ## gofmt check, go vet and staticcheck

staticcheck: ## staticcheck (fetched from the Go module proxy on first use)
	$(GO) run $(STATICCHECK) ./...

# Each harness prints a table with a baseline measured in the same run.
bench: check-deps ## Append, HTTP command, KurrentDB adapter, Kafka relay, projection and workflow benchmarks
	$(GO) run ./cmd/storebench
	$(GO) run ./cmd/httpbench
	$(GO) run ./cmd/kurrentbench
	$(GO) run ./cmd/relaybench
	$(GO) run ./cmd/projbench
	$(GO) run ./cmd/sagabench

migrate: build ## Apply pending migrations to the configured database
	$(BIN) migrate

token: ## Print a token: make token ROLE=teacher SCHOOL=<uuid> [SUB=..] [TTL=1h]
	@$(GO) run ./cmd/edusmarthub token --role "$(ROLE)" \
		$(if $(SCHOOL),--school "$(SCHOOL)") $(if $(SUB),--sub "$(SUB)") $(if $(TTL),--ttl "$(TTL)")

deps: ## Install PostgreSQL 15, the postgres user and a C toolchain if missing (apt, root)
	bash .ci/install-deps

# Fails early, with the fix, instead of in the middle of the test run.
check-deps:
	@test -x "$(PG_BIN_DIR)/postgres" || { \
		echo "PostgreSQL 15 server binaries not found in $(PG_BIN_DIR)."; \
		echo "Run 'make deps' (Debian/Ubuntu: apt-get install postgresql-15), or set EDUSMARTHUB_PG_BIN_DIR."; \
		exit 1; }
	@command -v "$$($(GO) env CC)" >/dev/null || { \
		echo "No C compiler: go test -race needs cgo. Run 'make deps' (apt-get install gcc libc6-dev)."; \
		exit 1; }

clean: ## Remove build output (keeps ./.data; delete it by hand to start afresh)
	rm -rf bin
