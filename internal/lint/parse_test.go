package lint

import (
	"testing"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"github.com/google/go-cmp/cmp"
)

func TestParseRename(t *testing.T) {
	for _, tc := range []struct {
		stmt string
		want rename
		ok   bool
	}{
		{`ALTER TABLE t RENAME COLUMN a TO b;`, rename{"t", "a", "b"}, true},
		{`alter table if exists only "public"."T" rename "A" to "b"`, rename{"T", "A", "b"}, true},
		{`ALTER TABLE public.t RENAME TO u;`, rename{"t", "", "u"}, true},
		{`ALTER TABLE t /* RENAME TO x */ RENAME TO "u v";`, rename{"t", "", "u v"}, true},
		{`ALTER TABLE t RENAME CONSTRAINT c TO d;`, rename{}, false},
		{`ALTER TABLE t ADD COLUMN rename int;`, rename{}, false},
		{`ALTER INDEX i RENAME TO j;`, rename{}, false},
	} {
		got, ok := parseRename(tc.stmt)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseRename(%q) = %+v, %v; want %+v, %v", tc.stmt, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTokensSkipLiterals(t *testing.T) {
	var got []string
	for _, tok := range tokens(`UPDATE t SET a = $1, b = 'x;''y', c = $f$ a = 1 $f$, "D""q" = $$ $$ -- a = 2` + "\n" + `WHERE a IS NULL`) {
		got = append(got, tok.text)
	}
	want := []string{"update", "t", "set", "a", "=", "$", "1", ",", "b", "=", "'", ",", "c", "=", "'", ",", `D"q`, "=", "'", "where", "a", "is", "null"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("tokens (-want +got):\n%s", d)
	}
}

func TestColumnFilledBefore(t *testing.T) {
	tbl := &schema.Table{Name: "t"}
	col := &schema.Column{Name: "a"}
	for _, tc := range []struct {
		stmts []string
		want  bool
	}{
		{[]string{"UPDATE t SET a = 0;"}, true},
		{[]string{"UPDATE ONLY public.t SET b = 1, a = 0 WHERE a IS NULL;"}, true},
		{[]string{"UPDATE t SET a = 0 WHERE id = 1;"}, false},
		{[]string{"UPDATE u SET a = 0;"}, false},
		{[]string{"UPDATE t SET b = a;"}, false},
		{[]string{"SELECT 1;", "ALTER TABLE t ALTER a SET NOT NULL;", "UPDATE t SET a = 0;"}, false}, // after pos
	} {
		var stmts []*migrate.Stmt
		pos := 0
		for _, s := range tc.stmts {
			stmts = append(stmts, &migrate.Stmt{Pos: pos, Text: s})
			pos += len(s) + 1
		}
		// The statement under test is the ALTER, else one past the end.
		at := pos
		for _, s := range stmts {
			if s.Text[:5] == "ALTER" {
				at = s.Pos
			}
		}
		got, err := parser{}.ColumnFilledBefore(stmts, tbl, col, at)
		if err != nil || got != tc.want {
			t.Errorf("ColumnFilledBefore(%q) = %v, %v; want %v", tc.stmts, got, err, tc.want)
		}
	}
}
