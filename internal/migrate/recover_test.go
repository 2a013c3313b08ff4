package migrate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/google/go-cmp/cmp"

	"tasks/internal/migrate"
)

// Migration files the recovery states are built from.
const (
	fileA       = "CREATE TABLE a (id int);\n"
	fileBBad    = "CREATE TABLE b (id int);\nINSERT INTO nope VALUES (1);\n"
	fileBFixed  = "CREATE TABLE b (id int);\n" // the fix drops a statement
	fileBLonger = "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\nINSERT INTO b VALUES (2);\n"
	fileBNone   = "-- atlas:txmode none\n\nCREATE TABLE b (id int);\nINSERT INTO nope VALUES (1);\n"
	fileBNoneOK = "-- atlas:txmode none\n\nCREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n"
	fileC       = "CREATE TABLE c (id int);\n"
)

// setDir makes the directory hold exactly files, re-hashed, as a user's
// edit plus `make hash` would.
func setDir(t *testing.T, dir *amigrate.LocalDir, files map[string]string) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(dir.Path(), "*.sql"))
	for _, p := range old {
		os.Remove(p)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir.Path(), name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate.Hash(dir); err != nil {
		t.Fatal(err)
	}
}

// rawRow is a revision row written directly, for states only another
// tool (or another version of one) leaves. Nil pointers are SQL NULL.
type rawRow struct {
	Version, Desc           string
	Type, Applied, Total    int64
	Error, ErrorStmt, Parts *string
	Hash, Operator          string
}

func str(s string) *string { return &s }

func insertRow(t testing.TB, db *sql.DB, r rawRow) {
	t.Helper()
	if err := migrate.CreateRevisionTable(context.Background(), db, migrate.DefaultRevisionsSchema); err != nil {
		t.Fatal(err)
	}
	if r.Operator == "" {
		r.Operator = migrate.AtlasCLIOperator
	}
	_, err := db.Exec(`INSERT INTO `+revTable+` (version, description, type, applied, total, executed_at,
		execution_time, error, error_stmt, hash, partial_hashes, operator_version)
		VALUES ($1, $2, $3, $4, $5, now(), 1000, $6, $7, $8, $9::jsonb, $10)`,
		r.Version, r.Desc, r.Type, r.Applied, r.Total, r.Error, r.ErrorStmt, r.Hash, r.Parts, r.Operator)
	if err != nil {
		t.Fatal(err)
	}
}

// partialHashes is the partial_hashes value for statements, computed from
// the format (a running SHA-256 over the statement texts), independently
// of the code under test.
func partialHashes(stmts ...string) *string {
	h := sha256.New()
	var out []string
	for _, s := range stmts {
		h.Write([]byte(s))
		out = append(out, "h1:"+base64.StdEncoding.EncodeToString(h.Sum(nil)))
	}
	b, _ := json.Marshal(out)
	return str(string(b))
}

// legacyFailureRow is what bin/migrate wrote for a failed transactional
// file before it stopped recording them: outside the rolled-back
// transaction, nothing applied, the file's total and hash.
func legacyFailureRow(t *testing.T, db *sql.DB, dir amigrate.Dir, total int64) {
	insertRow(t, db, rawRow{Version: "2", Desc: "b", Type: 2, Total: total,
		Error:     str(`pq: relation "nope" does not exist`),
		ErrorStmt: str("INSERT INTO nope VALUES (1);"), Parts: str("null"),
		Hash: fileHash(t, dir, "2_b.sql"), Operator: migrate.OperatorVersion})
}

type recoveryState struct {
	name string
	// setup leaves the database and the directory in the state, using
	// each tool the way a user would.
	setup func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir)
	// apply is a substring of apply's error, "" when it must succeed.
	apply string
	// applyOut is a substring of apply's output when it succeeds.
	applyOut string
	// tables must exist after a successful apply.
	tables []string
	// hint is a substring of status's Next line; problem says whether
	// status reports a Problem (the state apply refuses).
	hint    string
	problem bool
	// setTo is the version `migrate set` is run with; setOut a substring
	// of its output.
	setTo, setOut string
}

func ours(files map[string]string) func(*testing.T, *sql.DB, *amigrate.LocalDir) {
	return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		setDir(t, dir, files)
		if _, err := migrate.Apply(context.Background(), db, dir, 0, migrate.Options{}); err != nil {
			t.Fatalf("setup apply: %v", err)
		}
	}
}

func atlasCLI(files map[string]string) func(*testing.T, *sql.DB, *amigrate.LocalDir) {
	return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		setDir(t, dir, files)
		if err := migrate.AtlasCLIApply(context.Background(), db, dir, ""); err != nil {
			t.Fatalf("setup Atlas CLI apply: %v", err)
		}
	}
}

// failingWith runs files with tool, which must fail.
func failingWith(tool string, files map[string]string) func(*testing.T, *sql.DB, *amigrate.LocalDir) {
	return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		setDir(t, dir, files)
		var err error
		if tool == "atlas" {
			err = migrate.AtlasCLIApply(context.Background(), db, dir, "")
		} else {
			_, err = migrate.Apply(context.Background(), db, dir, 0, migrate.Options{})
		}
		if err == nil || strings.Contains(err.Error(), "panicked") {
			t.Fatalf("setup: %s apply of a failing file: %v", tool, err)
		}
	}
}

func steps(fs ...func(*testing.T, *sql.DB, *amigrate.LocalDir)) func(*testing.T, *sql.DB, *amigrate.LocalDir) {
	return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		for _, f := range fs {
			f(t, db, dir)
		}
	}
}

func files(f map[string]string) func(*testing.T, *sql.DB, *amigrate.LocalDir) {
	return func(t *testing.T, _ *sql.DB, dir *amigrate.LocalDir) { setDir(t, dir, f) }
}

func exec(q string) func(*testing.T, *sql.DB, *amigrate.LocalDir) {
	return func(t *testing.T, db *sql.DB, _ *amigrate.LocalDir) {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func row(r rawRow) func(*testing.T, *sql.DB, *amigrate.LocalDir) {
	return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
		if r.Hash == "" {
			r.Hash = "X"
		}
		insertRow(t, db, r)
	}
}

var (
	oneAndFixed = map[string]string{"1_a.sql": fileA, "2_b.sql": fileBFixed}
	oneAndBad   = map[string]string{"1_a.sql": fileA, "2_b.sql": fileBBad}
	onlyOne     = map[string]string{"1_a.sql": fileA}
	oneAndThree = map[string]string{"1_a.sql": fileA, "3_c.sql": fileC}
)

func recoveryStates() []recoveryState {
	legacy := func(total int64) func(*testing.T, *sql.DB, *amigrate.LocalDir) {
		return func(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
			setDir(t, dir, oneAndBad)
			legacyFailureRow(t, db, dir, total)
		}
	}
	return []recoveryState{{
		name:   "nothing applied yet",
		setup:  files(oneAndFixed),
		tables: []string{"a", "b"}, applyOut: "Migrating to version 2 (2 migrations in total)",
		hint: "run 'make migrate' to apply 2 pending files", setTo: "1", setOut: "+ 1 (a)",
	}, {
		name:     "all applied by the Atlas CLI",
		setup:    atlasCLI(oneAndFixed),
		applyOut: "No migration files to execute", tables: []string{"a", "b"},
		hint: "nothing to do", setTo: "1", setOut: "- 2 (b)",
	}, {
		name:     "all applied by bin/migrate",
		setup:    ours(oneAndFixed),
		applyOut: "No migration files to execute", tables: []string{"a", "b"},
		hint: "nothing to do", setTo: "1", setOut: "- 2 (b)",
	}, {
		name:     "failed in a transaction under the Atlas CLI (no row), then fixed",
		setup:    steps(failingWith("atlas", oneAndBad), files(oneAndFixed)),
		applyOut: "Migrating to version 2 from 1", tables: []string{"a", "b"},
		hint: "run 'make migrate' to apply 1 pending file", setTo: "2", setOut: "+ 2 (b)",
	}, {
		name:     "failed in a transaction under bin/migrate (no row), then fixed",
		setup:    steps(failingWith("ours", oneAndBad), files(oneAndFixed)),
		applyOut: "Migrating to version 2 from 1", tables: []string{"a", "b"},
		hint: "run 'make migrate' to apply 1 pending file", setTo: "2", setOut: "+ 2 (b)",
	}, {
		name:     "failure recorded by an earlier bin/migrate (applied 0, total 2), then fixed",
		setup:    steps(ours(onlyOne), legacy(2), files(oneAndFixed)),
		applyOut: "Forgot the failed attempt of version 2", tables: []string{"a", "b"},
		hint:  "2_b.sql failed and none of its statements is applied: fix it (if not done yet), run 'make hash', then 'make migrate'",
		setTo: "2", setOut: "+ 2 (b)",
	}, {
		// Issue 12, case 1: the Atlas CLI reran the fixed file and kept
		// total 2; its own next run panics on this row.
		name:     "earlier failure row rerun by the Atlas CLI with a shorter fix (applied 1, total 2)",
		setup:    steps(ours(onlyOne), legacy(2), atlasCLI(oneAndFixed)),
		applyOut: "Recorded version 2 as fully applied (1 statements; its revision said 1 of 2)", tables: []string{"a", "b"},
		hint: "run 'make migrate': it records version 2 as fully applied", setTo: "2", setOut: "+ 2 (b)",
	}, {
		name:     "earlier failure row rerun by the Atlas CLI with a longer fix (applied 3 > total 2)",
		setup:    steps(ours(onlyOne), legacy(2), atlasCLI(map[string]string{"1_a.sql": fileA, "2_b.sql": fileBLonger})),
		applyOut: "Recorded version 2 as fully applied (3 statements; its revision said 3 of 2)", tables: []string{"a", "b"},
		hint: "run 'make migrate': it records version 2 as fully applied", setTo: "2", setOut: "+ 2 (b)",
	}, {
		// Issue 12, case 2.
		name:     "earlier failure row, failed file deleted and a new migration written",
		setup:    steps(ours(onlyOne), legacy(2), files(oneAndThree)),
		applyOut: "Forgot the failed attempt of version 2", tables: []string{"a", "c"},
		hint: "it forgets the failed attempt of version 2 (its file is gone", setTo: "3", setOut: "- 2 (b)",
	}, {
		name: "first statement failed without a transaction under the Atlas CLI, file deleted",
		setup: steps(atlasCLI(onlyOne), failingWith("atlas", map[string]string{"1_a.sql": fileA,
			"2_b.sql": "-- atlas:txmode none\n\nINSERT INTO nope VALUES (1);\nCREATE TABLE b (id int);\n"}), files(oneAndThree)),
		applyOut: "Forgot the failed attempt of version 2", tables: []string{"a", "c"},
		hint: "it forgets the failed attempt of version 2", setTo: "3", setOut: "- 2 (b)",
	}, {
		name: "partially applied without a transaction by the Atlas CLI, then fixed",
		setup: steps(atlasCLI(onlyOne), failingWith("atlas", map[string]string{"1_a.sql": fileA, "2_b.sql": fileBNone}),
			files(map[string]string{"1_a.sql": fileA, "2_b.sql": fileBNoneOK})),
		applyOut: "Migrating to version 2 from 2", tables: []string{"a", "b"},
		hint:  "statement 2 of 2_b.sql failed: fix it, run 'make hash', then 'make migrate' resumes from it (1 statement left; its first 1 stay applied)",
		setTo: "2", setOut: "+ 2 (b)",
	}, {
		name: "partially applied without a transaction by bin/migrate, then fixed",
		setup: steps(ours(onlyOne), failingWith("ours", map[string]string{"1_a.sql": fileA, "2_b.sql": fileBNone}),
			files(map[string]string{"1_a.sql": fileA, "2_b.sql": fileBNoneOK})),
		applyOut: "Migrating to version 2 from 2", tables: []string{"a", "b"},
		hint: "statement 2 of 2_b.sql failed", setTo: "2", setOut: "+ 2 (b)",
	}, {
		name: "partially applied, file deleted",
		setup: steps(ours(onlyOne), failingWith("ours", map[string]string{"1_a.sql": fileA, "2_b.sql": fileBNone}),
			files(oneAndThree)),
		apply:   "revision 2: 1 of its statements are applied, but its migration file 2_b.sql is no longer in the directory",
		problem: true, hint: "Restore 2_b.sql (e.g. from version control), run 'make hash', then 'make migrate'",
		setTo: "1", setOut: "- 2 (b)",
	}, {
		name: "partially applied, applied statement edited and re-hashed",
		setup: steps(atlasCLI(onlyOne), failingWith("atlas", map[string]string{"1_a.sql": fileA, "2_b.sql": fileBNone}),
			files(map[string]string{"1_a.sql": fileA, "2_b.sql": "-- atlas:txmode none\n\nCREATE TABLE b (id bigint);\nINSERT INTO b VALUES (1);\n"})),
		apply:   "revision 2: statement 1 of 2_b.sql changed after it was applied",
		problem: true, hint: "mark it applied instead: make set version=2", setTo: "2", setOut: "+ 2 (b)",
	}, {
		name:  "file added out of order",
		setup: steps(ours(oneAndThree), files(map[string]string{"1_a.sql": fileA, "2_b.sql": fileBFixed, "3_c.sql": fileC})),
		apply: "migration file 2_b.sql was added out of order",
		hint:  "2_b.sql was added before the last applied version 3: give it a later version (rename), run 'make hash', then 'make migrate'; or apply out of order: make migrate flags=--exec-order=non-linear",
		// As with the Atlas CLI, set leaves a file added out of order pending.
		setTo: "3", setOut: "Current version is 3 (nothing to change)",
	}, {
		name:     "rows from a newer Atlas with unknown type bits",
		setup:    steps(atlasCLI(onlyOne), exec(`UPDATE `+revTable+` SET type = type | 8 | 1024`), files(oneAndFixed)),
		applyOut: "Migrating to version 2 from 1", tables: []string{"a", "b"},
		hint: "run 'make migrate' to apply 1 pending file", setTo: "2", setOut: "+ 2 (b)",
	}, {
		name:     "NULL error, error_stmt and partial_hashes",
		setup:    steps(atlasCLI(oneAndFixed), exec(`UPDATE `+revTable+` SET error = NULL, error_stmt = NULL, partial_hashes = NULL`)),
		applyOut: "No migration files to execute", tables: []string{"a", "b"},
		hint: "nothing to do", setTo: "2", setOut: "Current version is 2 (nothing to change)",
	}, {
		name: "partial_hashes shorter than applied, with an error",
		setup: steps(ours(onlyOne), files(map[string]string{"1_a.sql": fileA, "2_b.sql": fileBLonger}),
			row(rawRow{Version: "2", Desc: "b", Type: 2, Applied: 2, Total: 3, Error: str("boom"), ErrorStmt: str("x"),
				Parts: partialHashes("CREATE TABLE b (id int);")})),
		apply:   "revision 2: records 2 of 3 statements applied but the hashes of only 1",
		problem: true, hint: "mark it applied: make set version=2", setTo: "2", setOut: "+ 2 (b)",
	}, {
		name: "applied beyond the file's statements, without hashes or error",
		setup: steps(ours(onlyOne), files(oneAndFixed),
			row(rawRow{Version: "2", Desc: "b", Type: 2, Applied: 5, Total: 2, Parts: str("null"), Error: str("")})),
		apply:   "revision 2: records 5 of 2 statements applied but the hashes of only 0, so which statements ran cannot be checked (the file now has 1)",
		problem: true, hint: "If none is, remove its revision: make set version=1", setTo: "1", setOut: "- 2 (b)",
	}, {
		name:    "negative applied",
		setup:   steps(ours(onlyOne), files(oneAndFixed), row(rawRow{Version: "2", Desc: "b", Type: 2, Applied: -1, Total: 2})),
		apply:   "revision 2: records -1 of 2 statements applied, which no tool writes",
		problem: true, hint: "make set version=2", setTo: "2", setOut: "+ 2 (b)",
	}, {
		name: "partial_hashes that are not a list of strings",
		setup: steps(ours(onlyOne), files(oneAndFixed),
			row(rawRow{Version: "2", Desc: "b", Type: 2, Applied: 1, Total: 2, Parts: str(`{"h": 1}`), Error: str("e")})),
		apply:   "revision 2: records 1 statements of 2_b.sql applied, but its partial_hashes cannot be read",
		problem: true, hint: "make set version=2", setTo: "2", setOut: "+ 2 (b)",
	}, {
		name: "only failed revision, unreadable, no earlier revision to go back to",
		setup: steps(files(map[string]string{"2_b.sql": fileBFixed}),
			row(rawRow{Version: "2", Desc: "b", Type: 2, Applied: 1, Total: 2, Parts: str(`[1]`), Error: str("e")})),
		apply:   "partial_hashes cannot be read",
		problem: true, hint: `If none is, remove its revision: psql "$DATABASE_URL" -c "DELETE FROM atlas_schema_revisions.atlas_schema_revisions WHERE version = '2'"`,
		setTo: "2", setOut: "+ 2 (b)",
	}, {
		name: "marked resolved by the Atlas CLI's migrate set while partial (type 6, applied 1 of 2)",
		setup: steps(ours(onlyOne), files(map[string]string{"1_a.sql": fileA, "2_b.sql": fileBNoneOK}), exec("CREATE TABLE b (id int)"),
			row(rawRow{Version: "2", Desc: "b", Type: 6, Applied: 1, Total: 2, Error: str("e"), ErrorStmt: str("x"),
				Parts: partialHashes("CREATE TABLE b (id int);")})),
		applyOut: "Recorded version 2 as fully applied (2 statements; its revision said 1 of 2)", tables: []string{"a", "b"},
		hint: "run 'make migrate': it records version 2 as fully applied", setTo: "2", setOut: "+ 2 (b)",
	}, {
		name: "partially applied revision below a later one",
		setup: steps(ours(onlyOne), files(map[string]string{"1_a.sql": fileA, "2_b.sql": fileBNoneOK, "3_c.sql": fileC}),
			row(rawRow{Version: "2", Desc: "b", Type: 2, Applied: 1, Total: 2, Error: str("e"), ErrorStmt: str("x"),
				Parts: partialHashes("CREATE TABLE b (id int);")}),
			row(rawRow{Version: "3", Desc: "c", Type: 2, Applied: 1, Total: 1, Parts: str("null"), Error: str("")})),
		apply:   "revision 2: only 1 of 2 statements of 2_b.sql are applied, but later versions were applied after it",
		problem: true, hint: "mark it applied: make set version=3", setTo: "3", setOut: "+ 2 (b)",
	}, {
		name:     "baseline revision",
		setup:    steps(files(oneAndFixed), row(rawRow{Version: "1", Desc: "a", Type: 1, Hash: "", Error: str("")})),
		applyOut: "Migrating to version 2 from 1", tables: []string{"b"},
		hint: "run 'make migrate' to apply 1 pending file", setTo: "2", setOut: "+ 2 (b)",
	}}
}

// TestRecoveryStates runs apply, status and set on every revision-table
// state either tool can leave, each on its own database: each command
// either continues correctly or refuses with the fix, never panics, and
// what apply leaves the Atlas CLI continues from.
func TestRecoveryStates(t *testing.T) {
	ctx := context.Background()
	for _, st := range recoveryStates() {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel() // each state has its own databases
			fresh := func(t *testing.T) (*sql.DB, *amigrate.LocalDir) {
				db := open(t, cluster.Empty(t))
				dir := newDir(t, nil)
				st.setup(t, db, dir)
				return db, dir
			}
			// Status only reads (it checks so), so apply runs after it on
			// the same database; set gets its own.
			db, dir := fresh(t)
			t.Run("status", func(t *testing.T) {
				before := readRevsIfAny(t, db)
				rep, err := migrate.Status(ctx, db, dir, migrate.Options{})
				if err != nil {
					t.Fatalf("status: %v", err)
				}
				var out strings.Builder
				rep.Print(&out)
				if !strings.Contains(out.String(), "\nNext: ") || !strings.Contains(rep.Hint, st.hint) {
					t.Errorf("status hint = %q\nwant it to contain %q\n%s", rep.Hint, st.hint, out.String())
				}
				if (rep.Problem != nil) != st.problem {
					t.Errorf("status problem = %v, want one: %v", rep.Problem, st.problem)
				}
				if diff := cmp.Diff(before, readRevsIfAny(t, db)); diff != "" {
					t.Errorf("status changed the revision table (-before +after):\n%s", diff)
				}
			})
			t.Run("apply", func(t *testing.T) {
				before := readRevsIfAny(t, db)
				var out bytes.Buffer
				_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out})
				if st.apply != "" {
					if err == nil || !strings.Contains(err.Error(), st.apply) {
						t.Fatalf("apply: err = %v\nwant it to contain %q", err, st.apply)
					}
					if diff := cmp.Diff(before, readRevsIfAny(t, db)); diff != "" {
						t.Errorf("a refused apply changed the revision table (-before +after):\n%s", diff)
					}
					return
				}
				if err != nil {
					t.Fatalf("apply: %v\n%s", err, out.String())
				}
				if !strings.Contains(out.String(), st.applyOut) {
					t.Errorf("apply output lacks %q:\n%s", st.applyOut, out.String())
				}
				for _, tb := range st.tables {
					var ok bool
					db.QueryRow("SELECT to_regclass($1) IS NOT NULL", tb).Scan(&ok)
					if !ok {
						t.Errorf("table %s missing after apply", tb)
					}
				}
				// Every row is now complete, in a form both tools read alike.
				for _, r := range readRevs(t, db, revTable) {
					if r.Applied != r.Total || r.Applied < 0 || (r.Partial != "null" && r.Partial != "SQL NULL") {
						t.Errorf("row left unfinished or inconsistent: %+v", r)
					}
				}
				rep, err := migrate.Status(ctx, db, dir, migrate.Options{})
				if err != nil || rep.Status != "OK" || rep.Problem != nil || !strings.Contains(rep.Hint, "nothing to do") {
					t.Errorf("status after apply: %+v, %v", rep, err)
				}
				// The Atlas CLI continues from what apply left: nothing to do.
				if err := migrate.AtlasCLIApply(ctx, db, dir, ""); err != nil && !errors.Is(err, amigrate.ErrNoPendingFiles) {
					t.Errorf("the Atlas CLI after our apply: %v", err)
				}
			})
			t.Run("set", func(t *testing.T) {
				db, dir := fresh(t)
				rep, err := migrate.Set(ctx, db, dir, st.setTo, migrate.Options{})
				if err != nil {
					t.Fatalf("set %s: %v", st.setTo, err)
				}
				var out strings.Builder
				rep.Print(&out)
				if !strings.Contains(out.String(), st.setOut) {
					t.Errorf("set output lacks %q:\n%s", st.setOut, out.String())
				}
				after, err := migrate.Status(ctx, db, dir, migrate.Options{})
				if err != nil || after.Problem != nil || after.Current != st.setTo || after.Partial {
					t.Fatalf("status after set %s: %+v, %v", st.setTo, after, err)
				}
				for _, r := range readRevs(t, db, revTable) {
					if r.Version > st.setTo {
						t.Errorf("row above %s kept: %+v", st.setTo, r)
					}
				}
				if _, err := migrate.AtlasCLIPending(ctx, db, dir, ""); err != nil && strings.Contains(err.Error(), "panicked") {
					t.Errorf("the Atlas CLI after set: %v", err)
				}
			})
		})
	}
}

// readRevsIfAny reads the revision table, or nil when there is none.
func readRevsIfAny(t *testing.T, db *sql.DB) []revRow {
	t.Helper()
	var ok bool
	db.QueryRow("SELECT to_regclass($1) IS NOT NULL", revTable).Scan(&ok)
	if !ok {
		return nil
	}
	return readRevs(t, db, revTable)
}

// The premise of issue 12, case 1: the Atlas executor itself panics on the
// row it leaves after rerunning a failure row that this tool used to write.
// AtlasCLIApply is the executor without our guard.
func TestAtlasCLIPanicsOnAFailureRowWithAStaleTotal(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, onlyOne)
	ours(onlyOne)(t, db, dir)
	setDir(t, dir, oneAndBad)
	legacyFailureRow(t, db, dir, 2)
	atlasCLI(oneAndFixed)(t, db, dir)
	err := migrate.AtlasCLIApply(ctx, db, dir, "")
	if err == nil || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("Atlas CLI on its own row: %v; want the executor's panic", err)
	}
	// Our apply repairs the row; the Atlas CLI then has nothing to do.
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := migrate.AtlasCLIApply(ctx, db, dir, ""); !errors.Is(err, amigrate.ErrNoPendingFiles) {
		t.Fatalf("Atlas CLI after the repair: %v", err)
	}
}
