package plan

import (
	"testing"

	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"

	"tasks/internal/catalog"
)

// Which type changes rewrite was checked on PostgreSQL 15 by the table's
// relfilenode before and after each ALTER.
func TestRewritesType(t *testing.T) {
	str := func(typ string, size int) schema.Type { return &schema.StringType{T: typ, Size: size} }
	num := func(p, s int) schema.Type { return &schema.DecimalType{T: "numeric", Precision: p, Scale: s} }
	for _, tc := range []struct {
		name     string
		from, to schema.Type
		rewrites bool
	}{
		{"text to varchar(40)", str("text", 0), str("character varying", 40), true},
		{"varchar(20) to varchar(40)", str("character varying", 20), str("character varying", 40), false},
		{"varchar(20) to varchar(10)", str("character varying", 20), str("character varying", 10), true},
		{"varchar(20) to text", str("character varying", 20), str("text", 0), false},
		{"text to varchar", str("text", 0), str("character varying", 0), false},
		{"numeric(10,2) to numeric(12,2)", num(10, 2), num(12, 2), false},
		{"numeric(10,2) to numeric", num(10, 2), num(0, 0), false},
		{"numeric(10,2) to numeric(12,3)", num(10, 2), num(12, 3), true},
		{"integer to bigint", &schema.IntegerType{T: "integer"}, &schema.IntegerType{T: "bigint"}, true},
	} {
		c := &schema.ModifyColumn{
			From:   &schema.Column{Name: "c", Type: &schema.ColumnType{Type: tc.from}},
			To:     &schema.Column{Name: "c", Type: &schema.ColumnType{Type: tc.to}},
			Change: schema.ChangeType,
		}
		if got := rewritesType(c); got != tc.rewrites {
			t.Errorf("%s: rewrites = %v, want %v", tc.name, got, tc.rewrites)
		}
	}
}

func TestRewritingColumn(t *testing.T) {
	p := &planner{in: Input{Des: &catalog.Model{Objects: map[catalog.ObjectID]*catalog.Object{
		catalog.RoutineID(catalog.KindFunction, "public", "pick", ""): {Kind: catalog.KindFunction, Name: "pick",
			Create: []string{`CREATE FUNCTION "pick" () RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$`}},
		catalog.RoutineID(catalog.KindFunction, "public", "fixed", ""): {Kind: catalog.KindFunction, Name: "fixed",
			Create: []string{`CREATE FUNCTION "fixed" () RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$`}},
	}}}}
	col := func(def schema.Expr, attrs ...schema.Attr) *schema.Column {
		return &schema.Column{Name: "c", Type: &schema.ColumnType{Type: &schema.IntegerType{T: "integer"}}, Default: def, Attrs: attrs}
	}
	for _, tc := range []struct {
		name string
		c    *schema.Column
		want string
	}{
		{"constant", col(&schema.Literal{V: "0"}), ""},
		{"now()", col(&schema.RawExpr{X: "now()"}), ""},
		{"random()", col(&schema.RawExpr{X: "(random() * 10)"}), "with a volatile default"},
		{"gen_random_uuid()", col(&schema.RawExpr{X: "gen_random_uuid()"}), "with a volatile default"},
		{"volatile function of the schema", col(&schema.RawExpr{X: "pick()"}), "with a volatile default"},
		{"immutable function of the schema", col(&schema.RawExpr{X: "fixed()"}), ""},
		{"identity", col(nil, &postgres.Identity{Generation: "ALWAYS"}), "as identity"},
		{"stored generated", col(nil, &schema.GeneratedExpr{Expr: "1", Type: "STORED"}), "as a stored generated column"},
	} {
		if got := p.rewritingColumn(tc.c); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
