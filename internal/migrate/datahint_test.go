package migrate_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"tasks/internal/migrate"
)

// A concurrent unique index over duplicate rows fails and leaves an
// INVALID index: the error names the duplicate key, says the rows (not
// the statement) need fixing and that the next apply rebuilds the index.
func TestDuplicateRowsHint(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1), (1);\n",
		"2_idx.sql":  "-- atlas:txmode none\n\nCREATE UNIQUE INDEX CONCURRENTLY \"t_id\" ON \"t\" (\"id\");\n",
	})
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{})
	if pq.As(err, pqerror.UniqueViolation) == nil {
		t.Fatalf("err = %v; want unique_violation", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"PostgreSQL: Key (id)=(1) is duplicated.",
		"The statement is not wrong: rows of the table break it.",
		`left index "t_id" INVALID: queries do not use it and writes do not maintain it: it only holds its name.`,
		"'make migrate' runs the file again; it drops the INVALID index and builds it again",
		`DROP INDEX CONCURRENTLY "t_id";`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "Fix the statement") || strings.Contains(msg, "Nothing of 2_idx.sql was applied") {
		t.Errorf("error sends the user to the statement, or denies the INVALID index:\n%s", msg)
	}
}

// An online SET NOT NULL whose VALIDATE finds NULLs leaves its NOT VALID
// check in place, and PostgreSQL then refuses every update of those rows.
// The error says so, lists the rows' query and how to let writes through
// meanwhile; each command it gives works.
func TestValidateFailureHint(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int, p bigint);\nINSERT INTO t VALUES (1, NULL), (2, 5);\n",
		"2_nn.sql": "-- atlas:txmode none\n\nSET lock_timeout = '500ms';\n" +
			"ALTER TABLE \"t\" ADD CONSTRAINT \"t_p_nn_check\" CHECK (\"p\" IS NOT NULL) NOT VALID;\n" +
			"ALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_p_nn_check\";\n" +
			"ALTER TABLE \"t\" ALTER COLUMN \"p\" SET NOT NULL;\n" +
			"ALTER TABLE \"t\" DROP CONSTRAINT \"t_p_nn_check\";\n",
	})
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{})
	if pq.As(err, pqerror.CheckViolation) == nil {
		t.Fatalf("err = %v; want check_violation", err)
	}
	// What the hint warns of: an update of the NULL row now fails.
	if _, uerr := db.Exec("UPDATE t SET id = 10 WHERE id = 1"); pq.As(uerr, pqerror.CheckViolation) == nil {
		t.Fatalf("update of the NULL row: %v; want check_violation", uerr)
	}
	msg := err.Error()
	for _, want := range []string{
		"The statement is not wrong: rows of the table break it.",
		`Constraint "t_p_nn_check" stays on table "public"."t" NOT VALID`,
		"updates of the rows that break it fail from now on",
		`The rows: SELECT * FROM "public"."t" WHERE NOT ((p IS NOT NULL));`,
		"'make migrate' resumes at statement 3 (its first 2 stay applied",
		`ALTER TABLE "public"."t" DROP CONSTRAINT "t_p_nn_check";`,
		`ALTER TABLE "public"."t" ADD CONSTRAINT "t_p_nn_check" CHECK ((p IS NOT NULL)) NOT VALID;`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "Fix statement") {
		t.Errorf("error sends the user to the statement:\n%s", msg)
	}
	st, err := migrate.Status(ctx, db, dir, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "statement 3 of 2_nn.sql failed on rows of its table that break it: the file needs no fix."; !strings.Contains(st.Hint, want) {
		t.Errorf("status hint = %q; want it to contain %q", st.Hint, want)
	}
	// The query it gives finds the row; the drop lets the update through;
	// the add puts the check back as it was, and the resumed file then
	// finishes once the row is fixed.
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM "public"."t" WHERE NOT ((p IS NOT NULL))`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows query: n = %d, err = %v; want 1", n, err)
	}
	for _, s := range []string{
		`ALTER TABLE "public"."t" DROP CONSTRAINT "t_p_nn_check"`,
		"UPDATE t SET p = 0 WHERE p IS NULL",
		`ALTER TABLE "public"."t" ADD CONSTRAINT "t_p_nn_check" CHECK ((p IS NOT NULL)) NOT VALID`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err != nil {
		t.Fatalf("resumed apply: %v", err)
	}
}

// A run killed during the first statement of a txmode-none file (a
// concurrent index build with no SET before it) leaves a revision with
// nothing applied and no error: status says the run stopped and that
// apply runs the file again, not that the file failed and needs a fix.
func TestInterruptedFirstStatementStatus(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int);\n",
		"2_idx.sql":  "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY \"t_id\" ON \"t\" (\"id\");\n",
	})
	if _, err := migrate.Apply(ctx, db, dir, 1, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	// The row apply writes before the file's first statement.
	insertRow(t, db, rawRow{Version: "2", Desc: "idx", Type: 2, Total: 1, Parts: str("null"),
		Hash: fileHash(t, dir, "2_idx.sql"), Operator: migrate.OperatorVersion})
	st, err := migrate.Status(ctx, db, dir, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "an apply of 2_idx.sql stopped during its first statement and recorded no error"; !strings.Contains(st.Hint, want) {
		t.Errorf("status hint = %q; want it to contain %q", st.Hint, want)
	}
	if strings.Contains(st.Hint, "fix it") {
		t.Errorf("status hint asks for a fix of a file that did not fail: %q", st.Hint)
	}
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err != nil {
		t.Fatalf("apply after the stop: %v", err)
	}
}

// A column added NOT NULL without a default to a table with rows fails
// because of the statement, not the rows: the hint says to give it a
// default, not to fix the rows.
func TestNotNullColumnWithoutDefaultHint(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n",
		"2_kind.sql": "SET lock_timeout = '500ms';\nALTER TABLE \"t\" ADD COLUMN \"kind\" character varying NOT NULL;\n",
	})
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{})
	if pq.As(err, pqerror.NotNullViolation) == nil {
		t.Fatalf("err = %v; want not_null_violation", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"Nothing of 2_kind.sql was applied. A column added NOT NULL needs a default",
		"Ent: .Default(…)",
		"add DEFAULT … to the statement, run 'make hash', then 'make migrate'",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "rows of the table break it") {
		t.Errorf("error blames the rows:\n%s", msg)
	}
}

// A concurrent index build behind an open transaction waits for it, and
// apply would seem stuck: it names the session it waits for, and how to
// end it, until the transaction ends and the build finishes.
func TestConcurrentWaitNamesTheTransaction(t *testing.T) {
	ctx := context.Background()
	url := cluster.Empty(t)
	db := open(t, url)
	dir := newDir(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int);\n",
		"2_idx.sql":  "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY \"t_id\" ON \"t\" (\"id\");\n",
	})
	if _, err := migrate.Apply(ctx, db, dir, 1, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	// A REPEATABLE READ transaction keeps its snapshot while idle: the
	// build waits for it (a READ COMMITTED one idle between statements
	// holds no snapshot, and the build goes on).
	tx, err := open(t, url).BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("SELECT count(*) FROM t"); err != nil {
		t.Fatal(err)
	}
	end := func() { tx.Rollback() }
	t.Cleanup(end)
	out := &onLine{marker: "waiting", fn: func() { go func() { time.Sleep(300 * time.Millisecond); end() }() }}
	opts := migrate.WithWaitNotice(migrate.Options{Out: out}, 200*time.Millisecond)
	if _, err := migrate.Apply(ctx, db, dir, 0, opts); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("apply's output:\n%s", out.String())
	for _, want := range []string{
		"    -- waiting ",
		" for older transactions to end (CONCURRENTLY must; reads and writes go on): pid ",
		"(idle in transaction, transaction open ",
		"SELECT count(*) FROM t",
		"end them (SELECT pg_terminate_backend(pid)) to go on sooner\n",
		"  -- ok (",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
