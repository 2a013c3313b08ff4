package migrate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/lib/pq"

	"tasks/internal/revtable"
)

// RevisionTable is the name of the Atlas revision table; only its schema
// varies.
const RevisionTable = revtable.Table

// DefaultRevisionsSchema is where the revision table lives when the URL
// names no search_path and no schema is configured.
const DefaultRevisionsSchema = revtable.DefaultSchema

// cloudIdentifier is a row Atlas Cloud keeps in the table; it is no
// migration and every reader skips it.
const cloudIdentifier = ".atlas_cloud_identifier"

// queryExecer is what the revision store needs: a *sql.DB, *sql.Conn or
// *sql.Tx, so revisions can be written inside a file's transaction.
type queryExecer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// revisions reads and writes the Atlas revision table in one schema. It
// implements amigrate.RevisionReadWriter with the Atlas CLI's table layout,
// so the CLI and this tool can take turns on the same database.
type revisions struct {
	db     queryExecer
	schema string
}

var _ amigrate.RevisionReadWriter = (*revisions)(nil)

func (r *revisions) table() string { return revtable.Name(r.schema) }

// Ident implements amigrate.RevisionReadWriter.
func (r *revisions) Ident() *amigrate.TableIdent {
	return &amigrate.TableIdent{Name: RevisionTable, Schema: r.schema}
}

// exists reports whether the revision table is there.
func (r *revisions) exists(ctx context.Context) (bool, error) {
	ok, err := revtable.Exists(ctx, r.db, r.schema)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	return ok, nil
}

// create makes the schema and table if missing, with exactly the DDL of
// the Atlas CLI (so its own auto-migration of the table finds nothing to
// change).
func (r *revisions) create(ctx context.Context) error {
	stmts := []string{
		"CREATE SCHEMA IF NOT EXISTS " + pq.QuoteIdentifier(r.schema),
		`CREATE TABLE IF NOT EXISTS ` + r.table() + ` ("version" character varying NOT NULL, ` +
			`"description" character varying NOT NULL, "type" bigint NOT NULL DEFAULT 2, ` +
			`"applied" bigint NOT NULL DEFAULT 0, "total" bigint NOT NULL DEFAULT 0, ` +
			`"executed_at" timestamptz NOT NULL, "execution_time" bigint NOT NULL, ` +
			`"error" text NULL, "error_stmt" text NULL, "hash" character varying NOT NULL, ` +
			`"partial_hashes" jsonb NULL, "operator_version" character varying NOT NULL, ` +
			`PRIMARY KEY ("version"))`,
	}
	for _, s := range stmts {
		if _, err := r.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("migrate: create revision table: %w", err)
		}
	}
	return nil
}

const revisionColumns = `"version", "description", "type", "applied", "total", "executed_at", ` +
	`"execution_time", "error", "error_stmt", "hash", "partial_hashes", "operator_version"`

// ReadRevisions implements amigrate.RevisionReadWriter. A missing table
// means no revisions.
func (r *revisions) ReadRevisions(ctx context.Context) ([]*amigrate.Revision, error) {
	rows, err := r.readRows(ctx)
	if err != nil {
		return nil, err
	}
	revs := make([]*amigrate.Revision, len(rows))
	for i := range rows {
		revs[i] = rows[i].Revision
	}
	return revs, nil
}

// readRows reads every revision in version order, byte-wise as Atlas
// compares versions (COLLATE "C": the database's collation may order
// "1_a" and "10" otherwise).
func (r *revisions) readRows(ctx context.Context) ([]row, error) {
	ok, err := r.exists(ctx)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := r.db.QueryContext(ctx, "SELECT "+revisionColumns+" FROM "+r.table()+
		` WHERE "version" <> $1 ORDER BY "version" COLLATE "C"`, cloudIdentifier)
	if err != nil {
		return nil, fmt.Errorf("migrate: read revisions: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		rw, err := scanRevision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rw)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read revisions: %w", err)
	}
	return out, nil
}

// ReadRevision implements amigrate.RevisionReadWriter.
func (r *revisions) ReadRevision(ctx context.Context, version string) (*amigrate.Revision, error) {
	rows, err := r.db.QueryContext(ctx, "SELECT "+revisionColumns+" FROM "+r.table()+` WHERE "version" = $1`, version)
	if err != nil {
		return nil, fmt.Errorf("migrate: read revision %s: %w", version, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("migrate: read revision %s: %w", version, err)
		}
		return nil, amigrate.ErrRevisionNotExist
	}
	rw, err := scanRevision(rows)
	if err != nil {
		return nil, err
	}
	return rw.Revision, nil
}

// scanRevision reads one row. SQL NULL in error, error_stmt and
// partial_hashes reads as empty, as in Atlas; partial_hashes that are not
// an array of strings are flagged rather than fatal, so that the survey can
// say which row is at fault and what fixes it.
func scanRevision(rows *sql.Rows) (row, error) {
	var (
		rev              amigrate.Revision
		typ, execTime    int64
		errText, errStmt sql.NullString
		partial          []byte
	)
	if err := rows.Scan(&rev.Version, &rev.Description, &typ, &rev.Applied, &rev.Total, &rev.ExecutedAt,
		&execTime, &errText, &errStmt, &rev.Hash, &partial, &rev.OperatorVersion); err != nil {
		return row{}, fmt.Errorf("migrate: scan revision: %w", err)
	}
	rev.Type = amigrate.RevisionType(typ)
	rev.ExecutionTime = time.Duration(execTime)
	rev.Error, rev.ErrorStmt = errText.String, errStmt.String
	rw := row{Revision: &rev}
	if len(partial) > 0 {
		if err := json.Unmarshal(partial, &rev.PartialHashes); err != nil {
			rev.PartialHashes, rw.badPartial = nil, true
		}
	}
	return rw, nil
}

// WriteRevision implements amigrate.RevisionReadWriter: an upsert that,
// like Atlas, keeps the first description and executed_at of a version.
func (r *revisions) WriteRevision(ctx context.Context, rev *amigrate.Revision) error {
	// A nil slice marshals to JSON null, which is what Atlas stores once a
	// file is done.
	partial, err := json.Marshal(rev.PartialHashes)
	if err != nil {
		return fmt.Errorf("migrate: write revision %s: %w", rev.Version, err)
	}
	_, err = r.db.ExecContext(ctx, "INSERT INTO "+r.table()+" ("+revisionColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT ("version") DO UPDATE SET
  "type" = EXCLUDED."type", "applied" = EXCLUDED."applied", "total" = EXCLUDED."total",
  "execution_time" = EXCLUDED."execution_time", "error" = EXCLUDED."error",
  "error_stmt" = EXCLUDED."error_stmt", "hash" = EXCLUDED."hash",
  "partial_hashes" = EXCLUDED."partial_hashes", "operator_version" = EXCLUDED."operator_version"`,
		rev.Version, rev.Description, int64(rev.Type), rev.Applied, rev.Total, rev.ExecutedAt,
		// partial as text: with lib/pq's binary_parameters a []byte goes out
		// in binary, which jsonb does not accept.
		int64(rev.ExecutionTime), rev.Error, rev.ErrorStmt, rev.Hash, string(partial), rev.OperatorVersion)
	if err != nil {
		return fmt.Errorf("migrate: write revision %s: %w", rev.Version, err)
	}
	return nil
}

// DeleteRevision implements amigrate.RevisionReadWriter.
func (r *revisions) DeleteRevision(ctx context.Context, version string) error {
	if _, err := r.db.ExecContext(ctx, "DELETE FROM "+r.table()+` WHERE "version" = $1`, version); err != nil {
		return fmt.Errorf("migrate: delete revision %s: %w", version, err)
	}
	return nil
}

// ErrAmbiguousRevisions is returned when the revision table is expected in
// the URL's schema but only exists in Atlas's default schema.
var ErrAmbiguousRevisions = revtable.ErrAmbiguous

// revisionsSchema decides where the revision table lives, as Atlas does
// and as the API's readiness check looks for it (revtable.Schema).
func revisionsSchema(ctx context.Context, db queryExecer, configured, bound string) (string, error) {
	s, err := revtable.Schema(ctx, db, configured, bound)
	if err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	return s, nil
}
