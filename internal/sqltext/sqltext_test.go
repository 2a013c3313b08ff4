package sqltext_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tasks/internal/sqltext"
)

// Each pair is two sources and whether PostgreSQL reads them as the same
// tokens. Every literal form of PostgreSQL's grammar appears on both
// sides of the line: a change inside it counts, layout around it does not.
func TestEquivalent(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		// Layout and comments.
		{"whitespace between tokens", "select  1,\n\t2", "SELECT 1 , 2", true},
		{"line comment", "select 1 -- one\n+ 2", "select 1 + 2", true},
		{"line comment at end without newline", "select 1 -- done", "select 1", true},
		{"nested block comment", "select /* a /* b */ still comment */ 1", "select 1", true},
		{"block comment is a separator", "select/**/1", "select 1", true},
		{"comment marker inside a literal is text", "select '-- x'", "select ''", false},
		{"block marker inside a literal is text", "select '/* x */'", "select ''", false},
		{"comment marker inside a quoted identifier", `select 1 as "a--b"`, `select 1 as "a"`, false},

		// Case: keywords and unquoted identifiers fold, quoted ones do not.
		{"keyword case", "SELECT x FROM t", "select x from t", true},
		{"unquoted identifier case", "select Title from Tasks", "select title from tasks", true},
		{"quoted identifier case", `select "Title"`, `select "title"`, false},
		{"quoted equals folded unquoted: different tokens", `select "title"`, `select title`, false},
		{"plpgsql words fold", "BEGIN RAISE NOTICE 'x'; END", "begin raise notice 'x'; end", true},
		{"non-ASCII letters are not folded", "select Ä", "select ä", false},

		// '…' with doubled quotes.
		{"doubled quote kept", "select 'it''s'", "select 'it''s'", true},
		{"doubled quote changed", "select 'it''s'", "select 'it''z'", false},
		{"whitespace inside a literal", "select 'a  b'", "select 'a b'", false},
		{"newline inside a literal", "select 'a\nb'", "select 'a b'", false},
		{"standard string: backslash is text", `select 'a\'`, `select 'a\\'`, false},
		{"continued literal: the line break is syntax", "select 'a'\n'b'", "select 'a'\n'c'", false},

		// E'…' with backslash escapes.
		{"E string escaped quote changed", `select E'it\'s'`, `select E'it\'z'`, false},
		{"E string escaped quote kept", `select E'it\'s'  `, `SELECT  E'it\'s'`, true},
		{"E string prefix case", `select E'a\nb'`, `select e'a\nb'`, true},
		{"E string backslash", `select E'a\\b'`, `select E'a\\c'`, false},
		{"E string newline escape", `select E'a\nb'`, `select E'a\tb'`, false},
		{"E string hex escape", `select E'\x41'`, `select E'\x42'`, false},
		{"E string unicode escape", `select E'\u0041'`, `select E'\u0042'`, false},
		{"E string written differently, same value: still a change", `select E'\x41'`, `select E'A'`, false},
		{"E string with a quote inside a comment-like run", `select E'\' -- '`, `select E'\' -- x'`, false},

		// U&'…' and UESCAPE.
		{"U& string", `select U&'d\0061t\+000061'`, `select U&'d\0061t\+000062'`, false},
		{"U& string kept, prefix case", `select U&'d\0061t\+000061'`, `select u&'d\0061t\+000061'`, true},
		{"UESCAPE character", `select U&'d!0061t' UESCAPE '!'`, `select U&'d!0061t' UESCAPE '#'`, false},
		{"UESCAPE keyword case", `select U&'d!0061t' UESCAPE '!'`, `select U&'d!0061t' uescape '!'`, true},

		// Dollar quotes.
		{"dollar quote body", "select $$a b$$", "select $$a  b$$", false},
		{"dollar quote kept", "select   $$a b$$", "select $$a b$$", true},
		{"nested dollar quotes, inner change", "select $a$ x $b$ it's $b$ y $a$", "select $a$ x $b$ it''s $b$ y $a$", false},
		{"nested dollar quotes, same", "select $a$ x $b$ y $b$ z $a$", "SELECT\n$a$ x $b$ y $b$ z $a$", true},
		{"dollar quote hides a comment marker", "select $$ -- x $$", "select $$ -- y $$", false},
		{"dollar tag case is part of the tag", "select $A$x$A$", "select $a$x$a$", false},
		{"function body in dollar quotes", "create function f() returns int language sql as $f$ select 1 $f$",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $f$ select 1 $f$", true},

		// Quoted identifiers.
		{"doubled double quote", `select 1 as "a""b"`, `select 1 as "a""c"`, false},
		{"doubled double quote kept", `select 1 as "a""b"`, `SELECT 1 AS "a""b"`, true},
		{"U& identifier", `select 1 as U&"d\0061t"`, `select 1 as U&"d\0061u"`, false},
		{"U& identifier kept", `select 1 as U&"d\0061t"`, `select 1 as u&"d\0061t"`, true},
		{"space inside a quoted identifier", `select 1 as "a b"`, `select 1 as "a  b"`, false},

		// Bit and hex strings.
		{"bit string", "select B'0101'", "select B'0111'", false},
		{"bit string prefix case", "select B'0101'", "select b'0101'", true},
		{"hex string", "select X'1F'", "select X'1E'", false},
		{"hex string digits case is literal text", "select X'1F'", "select X'1f'", false},

		// Numbers are kept as written.
		{"1e3 is not 1000", "select 1e3", "select 1000", false},
		{"1.0 is not 1", "select 1.0", "select 1", false},
		{"number kept", "select 42", "select  42", true},

		// Operators and punctuation.
		{"!= is the scanner's <>", "select 1 != 2", "select 1 <> 2", true},
		{"<> is not <", "select 1 <> 2", "select 1 < 2", false},
		{"operator spacing", "select 1+2", "select 1 + 2", true},
		{"typecast", "select 1::int", "select 1 :: INT", true},
		{"psql :var is a colon and a word", "select :var", "select : var", true},
		{"psql :'var' is a colon and a literal", "select :'var'", "select :'vaR'", false},
		{"plpgsql assignment", "x := 1;", "x:=1;", true},
		{"positional parameter", "select $1", "select $2", false},

		// Lexically invalid source is compared byte for byte, never equal
		// through the error.
		{"unterminated literal, different", "select 'abc", "select 'abd", false},
		{"unterminated literal, same bytes", "select 'abc", "select 'abc", true},
		{"unterminated literal against its layout twin", "select 'abc", "select  'abc", false},
		{"unterminated comment", "select 1 /* x", "select 1 /* y", false},
		{"unterminated dollar quote", "select $$x", "select $$y", false},
		{"empty quoted identifier", `select ""`, `select  ""`, false},
		{"NUL byte ends no scan early", "select 'a'\x00'b'", "select 'a'\x00'c'", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sqltext.Equivalent(tt.a, tt.b); got != tt.want {
				t.Errorf("Equivalent(%q, %q) = %v, want %v\nnormalized:\n  %q\n  %q",
					tt.a, tt.b, got, tt.want, sqltext.Normalize(tt.a), sqltext.Normalize(tt.b))
			}
			if got := sqltext.Equivalent(tt.b, tt.a); got != tt.want {
				t.Errorf("Equivalent is not symmetric for %q, %q", tt.a, tt.b)
			}
		})
	}
}

// The canonical form itself, which the catalog stores in object
// definitions: tokens as the scanner delimits them, one space apart.
func TestNormalize(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{"SELECT  a,b -- c\nFROM \"T\" /* x */ WHERE a != E'\\''", `select a , b from "T" where a <> e'\''`},
		{"BEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;", "begin new . updated_at := now ( ) ; return new ; end ;"},
		{"select $t$ A  B $t$, U&'x' UESCAPE '!'", "select $t$ A  B $t$ , u&'x' uescape '!'"},
		{"", ""},
		{"  -- only a comment", ""},
		{"select 'abc", "-- not lexically valid, compared byte for byte\nselect 'abc"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, sqltext.Normalize(tt.src)); diff != "" {
			t.Errorf("Normalize(%q) (-want +got):\n%s", tt.src, diff)
		}
	}
}

// The bug this package was rewritten for: a body differing only inside
// E'…\'…' compared equal, because the old hand-written lexer ended the
// literal at the escaped quote.
func TestEscapedQuoteBody(t *testing.T) {
	a := `BEGIN RAISE EXCEPTION E'can\'t update %', OLD.id; RETURN NEW; END`
	b := `BEGIN RAISE EXCEPTION E'can\'t change %', OLD.id; RETURN NEW; END`
	if sqltext.Equivalent(a, b) {
		t.Fatalf("bodies differing inside E'…\\'…' compare equal:\n%s\n%s", a, b)
	}
	if !sqltext.Equivalent(a, "  "+strings.ReplaceAll(a, "; ", ";\n    ")) {
		t.Fatal("layout outside the literal counted")
	}
}

// Concurrent callers must all get answers (the scanner is serialized
// around its process-wide stderr handling); run under -race.
func TestConcurrent(t *testing.T) {
	done := make(chan bool)
	for i := 0; i < 8; i++ {
		go func() {
			ok := true
			for j := 0; j < 200; j++ {
				ok = ok && sqltext.Equivalent("select E'a\\'b'", "SELECT  e'a\\'b'")
			}
			done <- ok
		}()
	}
	for i := 0; i < 8; i++ {
		if !<-done {
			t.Error("a concurrent Equivalent answered false")
		}
	}
}

func TestCalls(t *testing.T) {
	for _, c := range []struct {
		body, name string
		want       bool
	}{
		{"SELECT norm(t)", "norm", true},
		{"SELECT NORM (t)", "norm", true},
		{`RETURN "label"(t);`, "label", true},
		{`RETURN "Label"(t);`, "label", false},
		{"SELECT s.norm(t)", "norm", true},
		{"-- norm(t)\nSELECT 'norm(' || t", "norm", false},
		{"SELECT norm FROM t", "norm", false},
		{"SELECT normal(t)", "norm", false},
		{"SELECT 'unterminated", "norm", false},
		{"SELECT 'unterminated norm(", "norm", true}, // unreadable: yes when named
	} {
		if got := sqltext.Calls(c.body, c.name); got != c.want {
			t.Errorf("Calls(%q, %q) = %v; want %v", c.body, c.name, got, c.want)
		}
	}
}
