package migrate_test

import (
	"bytes"
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

// An online SET NOT NULL whose VALIDATE finds NULLs would leave its NOT
// VALID check in place, and PostgreSQL would then refuse every update of
// those rows (and every insert of the writers that still write NULL):
// apply drops it again and moves the revision back one statement, the
// error says so, and once the rows are fixed the next run adds the check
// again and finishes.
func TestValidateFailureUndoesNotValid(t *testing.T) {
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
	var out bytes.Buffer
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out})
	if pq.As(err, pqerror.CheckViolation) == nil {
		t.Fatalf("err = %v; want check_violation", err)
	}
	if _, uerr := db.Exec("UPDATE t SET id = 10 WHERE id = 1"); uerr != nil {
		t.Fatalf("update of the NULL row after the failed VALIDATE: %v; want it to go through", uerr)
	}
	if _, uerr := db.Exec("INSERT INTO t VALUES (3, NULL)"); uerr != nil {
		t.Fatalf("insert of a NULL after the failed VALIDATE: %v; want it to go through", uerr)
	}
	if want := `    -> ALTER TABLE "t" DROP CONSTRAINT "t_p_nn_check";   (statement 2 undone`; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	msg := err.Error()
	for _, want := range []string{
		"The statement is not wrong: rows of the table break it.",
		`Constraint "t_p_nn_check", added NOT VALID by the statement before, was dropped again`,
		"'make migrate' resumes at statement 2 (its first 1 stay applied",
		`The rows: SELECT * FROM "public"."t" WHERE NOT ("p" IS NOT NULL);`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if r := revAt(t, db, 1); r.Applied != 1 || r.Total != 5 {
		t.Fatalf("revision after the undo = %+v; want 1 of 5 applied", r)
	}
	st, err := migrate.Status(ctx, db, dir, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "statement 2 of 2_nn.sql failed on rows of its table that break it: the file needs no fix."; !strings.Contains(st.Hint, want) {
		t.Errorf("status hint = %q; want it to contain %q", st.Hint, want)
	}
	if _, err := db.Exec("UPDATE t SET p = 0 WHERE p IS NULL"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out}); err != nil {
		t.Fatalf("resumed apply: %v\n%s", err, out.String())
	}
	var nullable string
	if err := db.QueryRow("SELECT is_nullable FROM information_schema.columns WHERE table_name = 't' AND column_name = 'p'").Scan(&nullable); err != nil || nullable != "NO" {
		t.Fatalf("p nullable = %q, %v; want NO", nullable, err)
	}
}

// A constraint added NOT VALID in an earlier, transactional file is the
// one the schema declares: a VALIDATE that fails on rows leaves it, and
// the error says what it does to writes and how to let them through.
func TestValidateFailureKeepsDeclaredConstraint(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int, p bigint);\nINSERT INTO t VALUES (1, -1), (2, 5);\n",
		"2_chk.sql":  "ALTER TABLE \"t\" ADD CONSTRAINT \"t_p_check\" CHECK (p >= 0) NOT VALID;\n",
		"3_val.sql":  "-- atlas:txmode none\n\nALTER TABLE \"t\" VALIDATE CONSTRAINT \"t_p_check\";\n",
	})
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{})
	if pq.As(err, pqerror.CheckViolation) == nil {
		t.Fatalf("err = %v; want check_violation", err)
	}
	if _, uerr := db.Exec("UPDATE t SET id = 10 WHERE id = 1"); pq.As(uerr, pqerror.CheckViolation) == nil {
		t.Fatalf("update of the row that breaks the check: %v; want check_violation", uerr)
	}
	msg := err.Error()
	for _, want := range []string{
		`Constraint "t_p_check" stays on table "public"."t" NOT VALID`,
		`The rows: SELECT * FROM "public"."t" WHERE NOT ((p >= 0));`,
		"'make migrate' runs the file again",
		`ALTER TABLE "public"."t" DROP CONSTRAINT "t_p_check";`,
		`ALTER TABLE "public"."t" ADD CONSTRAINT "t_p_check" CHECK ((p >= 0)) NOT VALID;`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM "public"."t" WHERE NOT ((p >= 0))`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows query: n = %d, err = %v; want 1", n, err)
	}
}

// A run killed during the first statement of a txmode-none file (a
// concurrent index build with no SET before it) leaves a revision with
// nothing applied and no error: status says the run stopped and that
// apply runs the file again, not that the file failed and needs a fix.
func TestInterruptedFirstStatementStatus(t *testing.T) {
	ctx := context.Background()
	_, db, dir := firstApplied(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int);\n",
		"2_idx.sql":  "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY \"t_id\" ON \"t\" (\"id\");\n",
	})
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
	url, db, dir := firstApplied(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int);\n",
		"2_idx.sql":  "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY \"t_id\" ON \"t\" (\"id\");\n",
	})
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
