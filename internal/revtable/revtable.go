// Package revtable finds the Atlas revision table, the one way both the
// migration engine (which writes it) and the API's readiness check (which
// reads it) do. It imports nothing else of the project, so the HTTP side
// can use it without the migration engine.
package revtable

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/lib/pq"
)

// Table is the name of the Atlas revision table; only its schema varies.
const Table = "atlas_schema_revisions"

// DefaultSchema is where the table lives when the URL names no
// search_path and no schema is configured.
const DefaultSchema = "atlas_schema_revisions"

// ErrAmbiguous is returned when the table is expected in the URL's schema
// but only exists in the default schema.
var ErrAmbiguous = errors.New("ambiguous revision table")

// Querier runs a query for one row: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Name is the table's quoted, schema-qualified name.
func Name(schema string) string {
	return pq.QuoteIdentifier(schema) + "." + pq.QuoteIdentifier(Table)
}

// BoundSchema returns the schema a connection URL binds to (its first
// search_path entry), or "" when it names none, in which case Atlas works
// on the whole database.
func BoundSchema(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	sp := u.Query().Get("search_path")
	first, _, _ := strings.Cut(sp, ",")
	return strings.Trim(strings.TrimSpace(first), `"`)
}

// Schema decides where the table lives, as Atlas does: the configured
// schema, else the connection's bound schema, else the default. A bound
// schema without the table while the default one has it is refused
// (ErrAmbiguous) rather than guessed. The table need not exist.
func Schema(ctx context.Context, q Querier, configured, bound string) (string, error) {
	switch {
	case configured != "":
		return configured, nil
	case bound == "":
		return DefaultSchema, nil
	}
	inBound, err := Exists(ctx, q, bound)
	if err != nil || inBound {
		return bound, err
	}
	inDefault, err := Exists(ctx, q, DefaultSchema)
	if err != nil {
		return "", err
	}
	if inDefault {
		return "", fmt.Errorf("%w: found %s.%s but the connection is bound to schema %q; "+
			"set the revisions schema explicitly", ErrAmbiguous, DefaultSchema, Table, bound)
	}
	return bound, nil
}

// Exists reports whether the table is in schema.
func Exists(ctx context.Context, q Querier, schema string) (bool, error) {
	var ok bool
	if err := q.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", Name(schema)).Scan(&ok); err != nil {
		return false, fmt.Errorf("look for revision table: %w", err)
	}
	return ok, nil
}
