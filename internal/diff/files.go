package diff

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	dplan "tasks/internal/plan"
)

// txmodeNone is Atlas's file directive for a file run statement by
// statement, each in its own transaction; the blank line ends the
// directives.
const txmodeNone = "-- atlas:txmode none\n\n"

// fileFormat writes a plan as migration files in Atlas's format: the
// statements that must run outside a transaction (CONCURRENTLY) or in
// one of their own (VALIDATE, the steps of an online SET NOT NULL) go to
// files marked `-- atlas:txmode none`, the others to ordinary
// transactional files, in plan order; consecutive statements of one mode
// share a file. The files' versions are one second apart, and all of
// them keep the plan's name. Every file starts with `SET lock_timeout`
// when one is set, except a file of concurrent index builds and drops
// only: they block no reads or writes while they wait for older
// transactions to end, and under a short lock_timeout they would fail
// (and leave an INVALID index) whenever any transaction is open on the
// table. Each hazard of a statement is a `-- hazard: …` line directly
// above it, under Atlas's comment.
type fileFormat struct {
	lockTimeout time.Duration
	// allNoTx runs every statement on its own (an enum value added and
	// used in one migration), in one file.
	allNoTx bool
}

// part is the statements of one file.
type part struct {
	noTx bool
	// concurrent: every statement is a CONCURRENTLY index build or drop,
	// written without lock_timeout.
	concurrent bool
	changes    []*amigrate.Change
}

// split groups the changes into files.
func (f fileFormat) split(changes []*amigrate.Change) []part {
	var parts []part
	for _, c := range changes {
		noTx := f.allNoTx || dplan.StepOf(c).NoTx
		conc := noTx && !f.allNoTx && dplan.Concurrent(c.Cmd)
		if n := len(parts); n > 0 && parts[n-1].noTx == noTx && parts[n-1].concurrent == conc {
			parts[n-1].changes = append(parts[n-1].changes, c)
			continue
		}
		parts = append(parts, part{noTx: noTx, concurrent: conc, changes: []*amigrate.Change{c}})
	}
	return parts
}

// Format implements migrate.Formatter.
func (f fileFormat) Format(p *amigrate.Plan) ([]amigrate.File, error) {
	parts := f.split(p.Changes)
	files := make([]amigrate.File, 0, len(parts))
	for i, pt := range parts {
		name, err := fileName(p.Version, p.Name, i)
		if err != nil {
			return nil, err
		}
		files = append(files, amigrate.NewLocalFile(name, f.content(pt)))
	}
	return files, nil
}

// content is one file's text, byte for byte Atlas's format for a plan
// with no directive, lock timeout or hazard.
func (f fileFormat) content(pt part) []byte {
	var b bytes.Buffer
	if pt.noTx {
		b.WriteString(txmodeNone)
	}
	if f.lockTimeout > 0 && !pt.concurrent {
		fmt.Fprintf(&b, "SET lock_timeout = '%s';\n", pgDuration(f.lockTimeout))
	}
	for _, c := range pt.changes {
		if c.Comment != "" {
			b.WriteString("-- " + strings.ToUpper(c.Comment[:1]) + c.Comment[1:] + "\n")
		}
		for _, h := range dplan.StepOf(c).Hazards {
			b.WriteString("-- hazard: " + h + "\n")
		}
		b.WriteString(c.Cmd + ";\n")
	}
	return b.Bytes()
}

// pgDuration writes d in a unit PostgreSQL's time settings take.
func pgDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

// fileName is the name of a plan's file i: the plan's version moved on
// by i seconds, so that the files apply in order, and the plan's name.
func fileName(version, name string, i int) (string, error) {
	if i > 0 && version != "" {
		t, err := time.Parse("20060102150405", version)
		if err != nil {
			return "", fmt.Errorf("diff: version %q is not a timestamp: cannot number the migration's %d files", version, i+1)
		}
		version = t.Add(time.Duration(i) * time.Second).Format("20060102150405")
	}
	if name != "" {
		return version + "_" + name + ".sql", nil
	}
	return version + ".sql", nil
}

// execFiles runs the files as `migrate apply` does: a transactional
// file in one transaction, a txmode none file statement by statement,
// all on one session (so that SET lock_timeout holds as it would).
func execFiles(ctx context.Context, db *sql.DB, files []amigrate.File) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("diff: self-check: %w", err)
	}
	defer conn.Close()
	for _, file := range files {
		stmts, err := amigrate.Stmts(string(file.Bytes()))
		if err != nil {
			return fmt.Errorf("diff: self-check: %s: %w", file.Name(), err)
		}
		noTx := bytes.HasPrefix(file.Bytes(), []byte(txmodeNone))
		var ex interface {
			ExecContext(context.Context, string, ...any) (sql.Result, error)
		} = conn
		var tx *sql.Tx
		if !noTx {
			if tx, err = conn.BeginTx(ctx, nil); err != nil {
				return fmt.Errorf("diff: self-check: %w", err)
			}
			ex = tx
		}
		for _, s := range stmts {
			if _, err := ex.ExecContext(ctx, s.Text); err != nil {
				if tx != nil {
					tx.Rollback()
				}
				return stmtError(err, strings.TrimSuffix(s.Text, ";"))
			}
		}
		if tx != nil {
			if err := tx.Commit(); err != nil {
				return fmt.Errorf("diff: self-check: %w", err)
			}
		}
	}
	return nil
}

// stmtError explains a planned statement that failed on the migrated
// state.
func stmtError(err error, stmt string) error {
	hint := "\n  Write this change by hand in a migration of its own (migrate new <name>, write the SQL, then migrate hash), " +
		"then run migrate diff again"
	if pqErr := (*pq.Error)(nil); errors.As(err, &pqErr) && pqErr.Code == pqerror.DatatypeMismatch {
		// datatype_mismatch: a type change with no implicit cast,
		// which only the user can say how to convert.
		hint = "\n  PostgreSQL has no implicit conversion for this type change: write it by hand" +
			" (ALTER COLUMN … TYPE … USING <expression>, or add a column, copy, drop the old one) in a migration of its own" +
			" (migrate new <name>, write the SQL, then migrate hash), then run migrate diff again"
	}
	return fmt.Errorf("diff: self-check: the planned migration fails on the migrated state, nothing written: %w\n  in statement: %s%s",
		err, stmt, hint)
}
