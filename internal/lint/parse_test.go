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
		// PostgreSQL nests block comments: the first */ does not end this one.
		{`ALTER TABLE t /* a /* b */ RENAME TO x */ RENAME TO u;`, rename{"t", "", "u"}, true},
		{`ALTER TABLE t -- RENAME TO x` + "\n" + `RENAME TO u;`, rename{"t", "", "u"}, true},
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
	want := []string{"update", "t", "set", "a", "=", "$1", ",", "b", "=", "'", ",", "c", "=", "'", ",", `D"q`, "=", "'", "where", "a", "is", "null"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("tokens (-want +got):\n%s", d)
	}
}

// TestTokensLiteralValues: string constants are read as PostgreSQL reads
// them, escapes decoded, whatever their form.
func TestTokensLiteralValues(t *testing.T) {
	var got []string
	for _, tok := range tokens(`SELECT 'it''s', E'a\'b\n', $q$ $$ 'x' $q$, U&'d\0061t\+000061', e'x'`) {
		if tok.text == "'" {
			got = append(got, tok.lit())
		}
	}
	want := []string{"it's", "a'b\n", " $$ 'x' ", "data", "x"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("literal values (-want +got):\n%s", d)
	}
}

// TestSetsLockTimeoutEscapes: a lock_timeout written as an E'…' constant
// counts by its value.
func TestSetsLockTimeoutEscapes(t *testing.T) {
	for stmt, want := range map[string]bool{
		`SET lock_timeout = E'500ms';`:     true,
		`SET lock_timeout = E'0';`:         false,
		`SET lock_timeout TO '1s';`:        true,
		`SET lock_timeout = 0;`:            false,
		`SET lock_timeout = '0' /* 1s */;`: false,
		`SET lock_timeout = 500;`:          true,
	} {
		if got := setsLockTimeout(tokens(stmt), false); got != want {
			t.Errorf("setsLockTimeout(%q) = %v; want %v", stmt, got, want)
		}
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
		// In E'…' a backslash escapes the quote: the literal ends after it.
		{[]string{`UPDATE t SET b = E'\'', a = 0;`}, true},
		{[]string{`UPDATE t SET b = E'\', a = 0 WHERE id = 1', a = 0;`}, true},
		{[]string{"UPDATE t SET b = 1 /* a = 0 /* nested */ a = 0 */;"}, false},
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
