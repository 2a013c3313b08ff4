# Everyday commands. Nothing needs to be installed globally: binaries are
# built into bin/ and PostgreSQL is started on demand when DATABASE_URL is
# not set.

GO        ?= go
BIN       := bin
ENV       ?= local
MIGRATE   := $(BIN)/migrate

# Below Linux's ephemeral port range (32768-60999): an outgoing
# connection cannot be holding it when make run starts.
DEVDB_PORT ?= 25432
API_URL    ?= http://localhost:8080

.PHONY: all bench build build-run build-migrate generate diff drift migrate status set hash validate lint lint-go migrate-lint run e2e test test-short clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# What make run needs, and nothing else: not cmd/migrate, whose cgo SQL
# lexer is most of a cold build. Without cgo, so no C compiler is needed.
build-run:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ ./cmd/api ./cmd/devdb

build-migrate:
	$(GO) build -o $(BIN)/ ./cmd/migrate

generate:
	$(GO) generate ./...

$(MIGRATE): build-migrate

# Apply pending migrations to $$DATABASE_URL (or the env's url in atlas.hcl).
# Extra apply flags: make migrate flags=--exec-order=non-linear
migrate: $(MIGRATE)
	$(MIGRATE) apply --env $(ENV) $(flags)

status: $(MIGRATE)
	$(MIGRATE) status --env $(ENV)

# Mark migrations/ applied up to a version without running it (after a
# failure fixed by hand): make set version=20240101000000
set: $(MIGRATE)
	@test -n "$(version)" || (echo 'usage: make set version=VERSION'; exit 2)
	$(MIGRATE) set --env $(ENV) $(version)

# Rewrite migrations/atlas.sum after editing a file that was never applied.
hash: $(MIGRATE)
	$(MIGRATE) hash --env $(ENV)

# atlas.sum matches migrations/ and the files replay on a scratch database.
validate: $(MIGRATE)
	$(MIGRATE) validate --env $(ENV)

# Serve the API. With DATABASE_URL set: migrate it, then serve. Without:
# a throwaway PostgreSQL on port $(DEVDB_PORT), migrated, gone on exit
# (DEVDB_PORT=25433 make run when that port is taken). devdb applies the
# embedded migrations itself, so this builds only api and devdb.
run: build-run
ifdef DATABASE_URL
	$(BIN)/devdb --url "$$DATABASE_URL" -- $(BIN)/api
else
	$(BIN)/devdb --port $(DEVDB_PORT) -- $(BIN)/api
endif

# Reproduce the original sample against a running service (make run).
e2e:
	API_URL=$(API_URL) scripts/e2e.sh

# Write the next migration from ent/schema + schema.sql: make diff name=add_priority
diff: $(MIGRATE)
	$(MIGRATE) diff --env $(ENV) $(name)

# Said before anything is built: the file is named after the change.
ifneq ($(filter diff,$(MAKECMDGOALS)),)
ifndef name
$(error make diff needs a name for the migration, after what changed: make diff name=add_priority)
endif
endif

# Fail when ent/ or schema.sql changed without the matching migration.
drift: $(MIGRATE)
	$(MIGRATE) diff --env $(ENV) --check

# The API next to a bare reference server and pgbench -M prepared on the
# same statements, at 1, 16 and 64 clients, with CPU per request of each
# process, plus the trigger's cost (a throwaway PostgreSQL; about ten
# minutes with the defaults: 4 operations x 3 client counts x 5 rounds x
# 2 servers x 3.5 s is 7 minutes, then pgbench, the trigger and the
# observability rounds). Flags through BENCH_FLAGS, e.g.
# BENCH_FLAGS='-duration 2s -rounds 1'.
# Then `bench pool`: statement modes prepared/unnamed/SET LOCAL, direct
# and through PgBouncer, and the scale curve of 1, 2 and 4 API processes
# (about six minutes; needs pgbouncer). Flags through BENCH_POOL_FLAGS.
bench: build
	$(BIN)/bench -api $(BIN)/api $(BENCH_FLAGS)
	$(BIN)/bench pool -api $(BIN)/api $(BENCH_POOL_FLAGS)

# The API under a mixed load from 16 clients while migrate diff's plans,
# online and plain, add an index, constraints and columns to 1M tasks,
# another session holding a transaction open on the table (a throwaway
# PostgreSQL; a few minutes). Writes the chart the README links.
.PHONY: bench-migrate
BENCH_CHART ?= docs/bench-migrate.svg
bench-migrate: build
	$(BIN)/bench migrate -api $(BIN)/api -migrate $(MIGRATE) -chart $(BENCH_CHART) $(BENCH_FLAGS)

# The README's test command: every package against real PostgreSQL (a
# throwaway server unless TEST_DATABASE_URL is set). The race detector
# runs where goroutines meet in the code under test: the packages whose
# code starts goroutines or shares state behind locks. Everywhere else it
# could find nothing and would only slow the migrate diff scenarios down.
# Both halves run at once; independent tests (each diff scenario) run
# TEST_PARALLEL at a time, as they mostly wait on PostgreSQL.
RACE_PKGS     := ./internal/api ./internal/store ./internal/bench ./internal/pgtemp ./internal/devdb ./internal/sqltext ./internal/dbtest
TEST_PARALLEL ?= 4
test:
	@$(GO) test -race -count=1 -timeout 45m $(RACE_PKGS) & race=$$!; \
	$(GO) test -count=1 -timeout 45m -parallel $(TEST_PARALLEL) $$($(GO) list ./... | grep -vxF $(foreach p,$(RACE_PKGS),-e tasks/$(p:./%=%))); \
	rc=$$?; wait $$race || rc=1; exit $$rc

test-short:
	$(GO) test -short ./...

# Everything CI lints: the Go code, then the newest migration file with
# Atlas's analyzers and the project's checks (make migrate-lint; needs
# the dev database: a throwaway PostgreSQL).
lint: lint-go migrate-lint

lint-go:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

# The newest migration file (or the last N: make migrate-lint latest=N,
# 0 for all), as atlas.hcl's lint block configures the checks.
migrate-lint: $(MIGRATE)
	$(MIGRATE) lint --env $(ENV) $(if $(latest),--latest $(latest))

clean:
	rm -rf $(BIN)
