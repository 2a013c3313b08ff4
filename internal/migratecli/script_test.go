package migratecli_test

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/rogpeppe/go-internal/testscript"

	"tasks/internal/dbtest"
	"tasks/internal/migratecli"
)

var cluster *dbtest.Cluster

// TestMain makes the test binary double as the migrate command, which
// the scripts run as a real process (exit status and stderr as a user
// sees them); run as the test binary, it starts the tests' PostgreSQL.
func TestMain(m *testing.M) {
	testscript.Main(withDB{m}, map[string]func(){"migrate": migrateMain})
}

// withDB runs the tests with the cluster set up, as dbtest.Main does.
type withDB struct{ m *testing.M }

func (w withDB) Run() int { return dbtest.Main(w.m, &cluster) }

// migrateMain is cmd/migrate's main (a main package cannot be imported).
func migrateMain() {
	if err := migratecli.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

var update = flag.Bool("update", false, "rewrite the files that the scripts' cmp lines compare output with")

// TestScripts runs testdata/script/*.txtar: `exec migrate …` lines with
// their expected output, exit status and files, plus the commands below
// for what a user would check with psql or ls.
func TestScripts(t *testing.T) {
	dbtest.Require(t, cluster)
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			// Documented: under testscript.Run, T is a testing.TB.
			env.Values[tbKey{}] = env.T().(testing.TB)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"db":       cmdDB,
			"sql":      cmdSQL,
			"glob":     cmdGlob,
			"checksum": cmdChecksum,
		},
	})
}

type tbKey struct{}

// db VAR: set $VAR to the URL of a fresh empty database, dropped when
// the script ends.
func cmdDB(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: db VAR")
	}
	ts.Setenv(args[0], cluster.Empty(ts.Value(tbKey{}).(testing.TB)))
}

// sql URL QUERY: run QUERY on the database and print its rows, one a
// line, columns separated by a tab (NULL as "NULL").
func cmdSQL(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sql URL QUERY")
	}
	out, err := query(args[0], args[1])
	if err == nil {
		fmt.Fprint(ts.Stdout(), out)
	}
	switch {
	case err != nil && !neg:
		ts.Fatalf("sql: %v", err)
	case err == nil && neg:
		ts.Fatalf("sql: unexpected success")
	case err != nil:
		fmt.Fprintln(ts.Stderr(), err)
	}
}

func query(url, q string) (string, error) {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('\t')
			}
			if v.Valid {
				b.WriteString(v.String)
			} else {
				b.WriteString("NULL")
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), rows.Err()
}

// glob VAR PATTERN: print the files matching PATTERN, sorted, one a
// line, and set $VAR1, $VAR2… to them (migrate names its files after
// the clock).
func cmdGlob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: glob VAR PATTERN")
	}
	names, err := filepath.Glob(ts.MkAbs(args[1]))
	ts.Check(err)
	for i, n := range names {
		rel, err := filepath.Rel(ts.MkAbs("."), n)
		ts.Check(err)
		ts.Setenv(fmt.Sprintf("%s%d", args[0], i+1), rel)
		fmt.Fprintln(ts.Stdout(), rel)
	}
}

// checksum DIR N: DIR holds N migration files and matches its atlas.sum.
func cmdChecksum(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: checksum DIR N")
	}
	d, err := amigrate.NewLocalDir(ts.MkAbs(args[0]))
	ts.Check(err)
	if err := amigrate.Validate(d); err != nil {
		ts.Fatalf("atlas.sum: %v", err)
	}
	files, err := d.Files()
	ts.Check(err)
	if got := fmt.Sprint(len(files)); got != args[1] {
		ts.Fatalf("%s holds %s migration files, want %s", args[0], got, args[1])
	}
}
