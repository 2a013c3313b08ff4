package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// A statement that fails on the rows of its table (a unique index over
// duplicates, a constraint validated over rows that break it) is not
// wrong: the data is. Online plans make such a failure leave something
// behind that a plain plan would have rolled back: an INVALID index
// that every write still maintains, or a constraint added NOT VALID
// that PostgreSQL already enforces on every INSERT and on every UPDATE
// of a row, so that updates of the offending rows fail from then on.
// dataHint says so, with the row PostgreSQL named and the ways out.

// dataHint is the way out after a statement that failed on the rows of
// its table; "" for any other failure.
func dataHint(ctx context.Context, db *sql.DB, se *StmtError) string {
	var pe *pq.Error
	if !errors.As(se.Err, &pe) {
		return ""
	}
	if !dataCode(pe.Code) {
		return ""
	}
	if pe.Code == pqerror.NotNullViolation && strings.Contains(strings.ToUpper(se.Stmt), " ADD COLUMN ") {
		// The rows are not at fault: a column added NOT NULL gets NULL
		// in every one of them unless the statement gives a default.
		return fmt.Sprintf("Nothing of %s was applied. A column added NOT NULL needs a default for the rows the table "+
			"already has: give the field one (Ent: .Default(…)) or make it optional, delete %s, run %s, %s and %s; "+
			"or add DEFAULT … to the statement, run %s, then %s.",
			se.File, se.File, quote(cmdHash), quote("make diff name=…"), quote(cmdMigrate), quote(cmdHash), quote(cmdMigrate))
	}
	var b strings.Builder
	if pe.Detail != "" {
		fmt.Fprintf(&b, "PostgreSQL: %s\n", pe.Detail)
	}
	if _, conc := parseConcurrentIndex(se.Stmt); se.Applied == 0 && !conc {
		fmt.Fprintf(&b, "Nothing of %s was applied. ", se.File)
	}
	b.WriteString("The statement is not wrong: rows of the table break it. ")
	resume := fmt.Sprintf("%s runs the file again", quote(cmdMigrate))
	if se.Applied > 0 {
		resume = fmt.Sprintf("%s resumes at statement %d (its first %d stay applied: the file runs without a transaction)",
			quote(cmdMigrate), se.Applied+1, se.Applied)
	}
	if ci, ok := parseConcurrentIndex(se.Stmt); ok {
		fmt.Fprintf(&b, "The failed build left index %q INVALID: queries do not use it", ci.name)
		switch ready, ok := indexReady(ctx, db, ci); {
		case ok && ready:
			b.WriteString(", but every write to the table maintains it (and one that would duplicate its key is refused)")
		case ok:
			b.WriteString(" and writes do not maintain it: it only holds its name")
		}
		fmt.Fprintf(&b, ". Fix the rows (or the schema, with a new migration), then %s; it drops the INVALID index "+
			"and builds it again. To be rid of it meanwhile: DROP INDEX CONCURRENTLY %s;", resume, quoteIdent(ci.name))
		return b.String()
	}
	if con := validatedConstraint(se.Stmt); con != "" && pe.Table != "" {
		table := quoteIdent(pe.Table)
		if pe.Schema != "" {
			table = quoteIdent(pe.Schema) + "." + table
		}
		if se.Undone == con {
			fmt.Fprintf(&b, "Constraint %q, added NOT VALID by the statement before, was dropped again: PostgreSQL would have "+
				"refused every INSERT or UPDATE of the rows that break it.", con)
			if expr := checkExpr(se.UndoneStmt); expr != "" {
				fmt.Fprintf(&b, " The rows: SELECT * FROM %s WHERE NOT %s;", table, expr)
			}
			fmt.Fprintf(&b, "\nFix them, then %s: it adds the constraint again and validates it.", resume)
			return b.String()
		}
		def := constraintDef(ctx, db, table, con)
		fmt.Fprintf(&b, "Constraint %q stays on table %s NOT VALID: PostgreSQL checks it on every INSERT and on every "+
			"UPDATE of a row, so updates of the rows that break it fail from now on.", con, table)
		if expr, ok := strings.CutPrefix(def, "CHECK "); ok {
			expr = strings.TrimSuffix(expr, " NOT VALID")
			fmt.Fprintf(&b, " The rows: SELECT * FROM %s WHERE NOT %s;", table, expr)
		}
		fmt.Fprintf(&b, "\nFix those rows, then %s. To let their updates through until then, drop the constraint "+
			"(ALTER TABLE %s DROP CONSTRAINT %s;) and, before %s, add it back as it was", resume, table, quoteIdent(con), quote(cmdMigrate))
		if def != "" {
			fmt.Fprintf(&b, " (ALTER TABLE %s ADD CONSTRAINT %s %s;)", table, quoteIdent(con), def)
		}
		b.WriteString(".")
		return b.String()
	}
	fmt.Fprintf(&b, "Fix the rows (or the schema, with a new migration), then %s.", resume)
	return b.String()
}

// validatedConstraint is the constraint of ALTER TABLE … VALIDATE
// CONSTRAINT name, folded as PostgreSQL folds it; "" for any other
// statement.
func validatedConstraint(s string) string {
	ws := words(s)
	n := len(ws)
	for n > 0 && ws[n-1].is(";") {
		n--
	}
	if n < 5 || !ws[0].is("alter") || !ws[1].is("table") || !ws[n-3].is("validate") || !ws[n-2].is("constraint") {
		return ""
	}
	return ws[n-1].text
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// constraintDef is pg_get_constraintdef of constraint con of table; ""
// when it cannot be read.
func constraintDef(ctx context.Context, db *sql.DB, table, con string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	var def string
	if err := db.QueryRowContext(ctx, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2",
		table, con).Scan(&def); err != nil {
		return ""
	}
	return def
}

// dataCode reports whether a SQLSTATE says rows break the statement:
// unique, check, foreign key, not null or exclusion violation.
func dataCode(code pqerror.Code) bool {
	switch code {
	case pqerror.UniqueViolation, pqerror.CheckViolation, pqerror.ForeignKeyViolation, pqerror.NotNullViolation, pqerror.ExclusionViolation:
		return true
	}
	return false
}

// dataError reports whether an error recorded in the revision table
// (lib/pq's message, which ends with the SQLSTATE) is one of dataCode's.
// The table keeps only text, so the code is read back from it.
func dataError(msg string) bool {
	i := strings.LastIndex(msg, "(")
	return i >= 0 && strings.HasSuffix(msg, ")") && dataCode(pqerror.Code(msg[i+1:len(msg)-1]))
}

// indexReady reports whether the index a failed concurrent build left is
// ready (pg_index.indisready: writes maintain it); ok is false when it
// cannot be read.
func indexReady(ctx context.Context, db *sql.DB, ci concurrentIndex) (ready, ok bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err := db.QueryRowContext(ctx, `
SELECT i.indisready FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relname = $1 AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2))`,
		ci.name, ci.table).Scan(&ready)
	return ready, err == nil
}

// undoNotValid takes back the constraint a failed VALIDATE CONSTRAINT
// leaves when the statement just before it, in the same txmode-none
// file, added that constraint NOT VALID (the online SET NOT NULL, or a
// hand-written pair): PostgreSQL already enforces it on every INSERT and
// UPDATE, so rows that break it, and the writers that still write such
// rows, would fail until someone noticed, where a plain plan would have
// left the table as it was. The constraint is dropped and the revision
// moved back one statement, so that the next run adds it again and
// validates. It returns the statements that stay applied, and the
// constraint it dropped ("" when it did nothing).
func (r *runner) undoNotValid(ctx context.Context, f amigrate.File, err error, applied int) (int, string) {
	var se *StmtError
	var pe *pq.Error
	if !errors.As(err, &se) || !errors.As(se.Err, &pe) || !dataCode(pe.Code) || applied < 1 || se.Index != applied+1 {
		return applied, ""
	}
	con := validatedConstraint(se.Stmt)
	table, ok := alteredTable(se.Stmt)
	if con == "" || !ok {
		return applied, ""
	}
	stmts, serr := amigrate.Stmts(string(f.Bytes()))
	if serr != nil || len(stmts) < applied {
		return applied, ""
	}
	if added, t := notValidAdd(stmts[applied-1].Text); added != con || t != table {
		return applied, ""
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	drop := "ALTER TABLE " + table + " DROP CONSTRAINT " + quoteIdent(con)
	tx, terr := r.db.BeginTx(ctx, nil)
	if terr != nil {
		return applied, ""
	}
	defer tx.Rollback()
	// As short a wait for the table's lock as the file's own statements.
	if _, terr := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '2s'"); terr != nil {
		return applied, ""
	}
	if _, terr := tx.ExecContext(ctx, drop); terr != nil {
		fmt.Fprintf(r.out, "  -- could not drop constraint %q again (%v): it stays NOT VALID\n", con, terr)
		return applied, ""
	}
	store := &revisions{db: tx, schema: r.schema}
	rev, rerr := store.ReadRevision(ctx, f.Version())
	if rerr != nil || rev.Applied != applied {
		return applied, ""
	}
	rev.Applied--
	if len(rev.PartialHashes) > rev.Applied {
		rev.PartialHashes = rev.PartialHashes[:rev.Applied]
	}
	if rev.Applied == 0 {
		// Nothing of the file is left: no row, as after any failure
		// that left nothing applied.
		rerr = store.DeleteRevision(ctx, f.Version())
	} else {
		rerr = store.WriteRevision(ctx, rev)
	}
	if rerr != nil {
		return applied, ""
	}
	if tx.Commit() != nil {
		return applied, ""
	}
	fmt.Fprintf(r.out, "    -> %s;   (statement %d undone: its NOT VALID constraint would refuse writes of the rows that break it)\n",
		drop, applied)
	se.UndoneStmt = stmts[applied-1].Text
	return applied - 1, con
}

// checkExpr is the parenthesized expression of ALTER TABLE … ADD
// CONSTRAINT … CHECK (expr) NOT VALID; "" for any other statement.
func checkExpr(s string) string {
	ws := words(s)
	for i, w := range ws {
		if !w.is("check") || i+1 >= len(ws) || !ws[i+1].is("(") {
			continue
		}
		depth := 0
		for _, v := range ws[i+1:] {
			switch {
			case v.is("("):
				depth++
			case v.is(")"):
				if depth--; depth == 0 {
					return s[ws[i+1].start:v.end]
				}
			}
		}
	}
	return ""
}

// alteredTable is the table of ALTER TABLE <table> …, as written.
func alteredTable(s string) (string, bool) {
	ws := words(s)
	if len(ws) < 4 || !ws[0].is("alter") || !ws[1].is("table") {
		return "", false
	}
	i := 2
	if ws[i].is("only") {
		return "", false
	}
	// The name ends at the first keyword after it: a name is at most
	// schema . table, each one word.
	end := i + 1
	if end+1 < len(ws) && ws[end].is(".") {
		end += 2
	}
	if end >= len(ws) {
		return "", false
	}
	return strings.TrimSpace(s[ws[i].start:ws[end].start]), true
}

// notValidAdd is the constraint and table of ALTER TABLE <table> ADD
// CONSTRAINT <name> … NOT VALID with no other action; "" otherwise.
func notValidAdd(s string) (con, table string) {
	table, ok := alteredTable(s)
	if !ok {
		return "", ""
	}
	ws := words(s)
	n := len(ws)
	for n > 0 && ws[n-1].is(";") {
		n--
	}
	i := 3
	if i < n && ws[i].is(".") {
		i += 2
	}
	if i+2 >= n || !ws[i].is("add") || !ws[i+1].is("constraint") || !ws[n-2].is("not") || !ws[n-1].is("valid") {
		return "", ""
	}
	depth := 0
	for _, w := range ws[i:n] {
		switch {
		case w.is("("):
			depth++
		case w.is(")"):
			depth--
		case w.is(",") && depth == 0:
			return "", "" // another action
		}
	}
	return ws[i+2].text, table
}
