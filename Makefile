# Everyday commands. Nothing needs to be installed globally: binaries are
# built into bin/ and PostgreSQL is started on demand when DATABASE_URL is
# not set.

GO        ?= go
BIN       := bin
ENV       ?= local
MIGRATE   := $(BIN)/migrate

DEVDB_PORT ?= 55432
API_URL    ?= http://localhost:8080

.PHONY: all bench build generate diff drift migrate status set hash validate lint run e2e test test-short clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

generate:
	$(GO) generate ./...

$(MIGRATE): build

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
# a throwaway PostgreSQL on port $(DEVDB_PORT), migrated, gone on exit.
run: build
ifdef DATABASE_URL
	$(MIGRATE) apply --url "$$DATABASE_URL"
	$(BIN)/api
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
# process, plus the trigger's cost (a throwaway PostgreSQL; about four
# minutes). Flags through BENCH_FLAGS, e.g. BENCH_FLAGS='-duration 2s'.
# Then `bench pool`: statement modes prepared/unnamed/SET LOCAL, direct
# and through PgBouncer, and the scale curve of 1, 2 and 4 API processes
# (about six minutes; needs pgbouncer). Flags through BENCH_POOL_FLAGS.
bench: build
	$(BIN)/bench -api $(BIN)/api $(BENCH_FLAGS)
	$(BIN)/bench pool -api $(BIN)/api $(BENCH_POOL_FLAGS)

# The README's test command: every package against real PostgreSQL (a
# throwaway server unless TEST_DATABASE_URL is set), under the race detector.
test:
	$(GO) test -race -count=1 -timeout 45m ./...

test-short:
	$(GO) test -short ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
