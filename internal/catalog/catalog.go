// Package catalog reads every object of a database's managed schemas
// from PostgreSQL's catalog into one model: each object with the
// definition two databases are compared by, the statements that create,
// drop or alter it, and the dependency graph between objects (pg_depend).
// Tables and their parts are in the model as graph nodes for Atlas's table
// diff; everything else carries its own DDL. What the planner knows of
// each kind beyond that is one entry in kinds.go. What no inspector
// claims is refused, never dropped in silence.
package catalog

import (
	"context"
	"database/sql"
	"fmt"
)

// Querier is a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Function is a function or procedure of one schema.
type Function struct {
	Name string
	Args string // identity arguments, e.g. "a integer, b text"
	// ArgsDecl is the full argument list with defaults, for CREATE.
	ArgsDecl string
	Result   string // "trigger", "integer", "SETOF t", …; "" for a procedure
	Language string
	Kind     string   // "f" function, "p" procedure
	Attrs    []string // volatility, STRICT, SECURITY DEFINER, … as SQL clauses
	Body     string   // prosrc, byte for byte
	SQLBody  bool     // a SQL-standard body (BEGIN ATOMIC / RETURN): Def holds it
	Def      string   // pg_get_functiondef, used when SQLBody
}

// attrs renders the non-default attributes of a function as the clauses
// of CREATE FUNCTION, in a fixed order.
func attrs(lang, volatile, parallel string, strict, secdef, leakproof bool, cost, nrows float64, config []string) []string {
	var a []string
	switch volatile {
	case "i":
		a = append(a, "IMMUTABLE")
	case "s":
		a = append(a, "STABLE")
	}
	if strict {
		a = append(a, "STRICT")
	}
	if secdef {
		a = append(a, "SECURITY DEFINER")
	}
	if leakproof {
		a = append(a, "LEAKPROOF")
	}
	switch parallel {
	case "s":
		a = append(a, "PARALLEL SAFE")
	case "r":
		a = append(a, "PARALLEL RESTRICTED")
	}
	// The default cost is 1 for C and internal functions, 100 otherwise.
	defCost := 100.0
	if lang == "c" || lang == "internal" {
		defCost = 1
	}
	if cost != defCost {
		a = append(a, fmt.Sprintf("COST %g", cost))
	}
	if nrows != 0 && nrows != 1000 {
		a = append(a, fmt.Sprintf("ROWS %g", nrows))
	}
	for _, item := range config {
		a = append(a, setClause(item))
	}
	return a
}
