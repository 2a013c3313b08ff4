// Package sqltext reads SQL and PL/pgSQL source the way PostgreSQL reads
// it: it compares source (layout and comments outside literals do not
// count, the case of unquoted words does not count, and nothing inside a
// literal or a quoted identifier may differ), and hands out the tokens
// and string constants of source to code that recognises statements.
//
// The tokens come from PostgreSQL's own scanner (the core lexer, which
// PL/pgSQL uses too), compiled into the binary through pg_query_go, so
// every literal form the server knows ('…' with doubled quotes, E'…' with
// backslash escapes, U&'…' with UESCAPE, B'…', X'…', nested dollar
// quotes, "…" and U&"…" identifiers) is delimited exactly as the server
// delimits it. Source the scanner rejects is compared byte for byte:
// an error never makes two bodies equal.
package sqltext

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	pgquery "github.com/pganalyze/pg_query_go/v6"
)

// Equivalent reports whether a and b are the same source to PostgreSQL's
// lexer.
func Equivalent(a, b string) bool { return Normalize(a) == Normalize(b) }

// unscannable prefixes source the scanner rejects. A normalized token
// string never holds a comment, so no scannable source normalizes to a
// string with this prefix, and an unscannable body equals only itself.
const unscannable = "-- not lexically valid, compared byte for byte\n"

// scanMu serializes calls into the C scanner and parser: libpg_query points the
// process's stderr at a pipe for the length of each call and back after
// it, and two calls interleaving there would leave stderr on a closed
// pipe. The lock guards that process-wide state, so it is package-wide.
var scanMu sync.Mutex

// Normalize reduces SQL or PL/pgSQL source to a canonical token string:
// comments dropped, one space between tokens, keywords and unquoted
// identifiers lower-cased (ASCII only, as PostgreSQL folds them), the
// prefix letter of E'…', B'…', X'…' and U&'…' lower-cased, and != written
// <> (the scanner returns one token for both). Literals, quoted
// identifiers, numbers and dollar-quoted strings are kept byte for byte.
// Source the scanner rejects comes back whole, behind a comment line.
func Normalize(src string) string {
	// The scanner reads a C string: a NUL byte would end the source early
	// and hide what follows it.
	toks, err := Scan(src)
	if err != nil {
		return unscannable + src
	}
	var b strings.Builder
	b.Grow(len(src))
	n := 0
	for _, t := range toks {
		text := src[t.GetStart():t.GetEnd()]
		switch tok := t.GetToken(); {
		case tok == pgquery.Token_SQL_COMMENT || tok == pgquery.Token_C_COMMENT:
			continue
		case tok == pgquery.Token_NOT_EQUALS:
			text = "<>"
		case t.GetKeywordKind() != pgquery.KeywordKind_NO_KEYWORD:
			text = lowerASCII(text)
		case tok == pgquery.Token_IDENT && text[0] != '"':
			text = lowerASCII(text)
		case tok == pgquery.Token_SCONST || tok == pgquery.Token_USCONST || tok == pgquery.Token_BCONST ||
			tok == pgquery.Token_XCONST || tok == pgquery.Token_UIDENT:
			// E'…' and e'…' (B, X, U&) are the same literal; only the
			// letter before the quote is folded, never the quoted text.
			if c := text[0]; c >= 'A' && c <= 'Z' {
				text = string(c+'a'-'A') + text[1:]
			}
		}
		if n > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(text)
		n++
	}
	return b.String()
}

// Scan returns the tokens PostgreSQL's scanner reads in src, comments
// included, each with its byte range in src. Source the scanner rejects
// (an unterminated literal or comment) is an error.
func Scan(src string) ([]*pgquery.ScanToken, error) {
	// The scanner reads a C string: a NUL byte would end the source early
	// and hide what follows it.
	if strings.IndexByte(src, 0) >= 0 {
		return nil, errors.New("sqltext: source holds a NUL byte")
	}
	scanMu.Lock()
	res, err := pgquery.Scan(src)
	scanMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sqltext: scan: %w", err)
	}
	toks := res.GetTokens()
	for _, t := range toks {
		if start, end := int(t.GetStart()), int(t.GetEnd()); start < 0 || end > len(src) || start >= end {
			return nil, fmt.Errorf("sqltext: scan: token at %d..%d outside the source", start, end)
		}
	}
	return toks, nil
}

// Literal returns the value of one string constant as PostgreSQL reads
// it: '…' with doubled quotes, E'…' with backslash escapes, U&'…',
// $tag$…$tag$. The parser decodes it, so no escape rule is repeated here.
func Literal(constant string) (string, error) {
	if strings.IndexByte(constant, 0) >= 0 {
		return "", errors.New("sqltext: literal holds a NUL byte")
	}
	scanMu.Lock()
	res, err := pgquery.Parse("SELECT " + constant)
	scanMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("sqltext: literal %s: %w", constant, err)
	}
	if stmts := res.GetStmts(); len(stmts) == 1 {
		if targets := stmts[0].GetStmt().GetSelectStmt().GetTargetList(); len(targets) == 1 {
			if c := targets[0].GetResTarget().GetVal().GetAConst(); c != nil && c.GetSval() != nil {
				return c.GetSval().GetSval(), nil
			}
		}
	}
	return "", fmt.Errorf("sqltext: %s is not one string constant", constant)
}

// lowerASCII folds A-Z only: PostgreSQL leaves other letters of unquoted
// identifiers alone in multibyte encodings.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Calls reports whether body, a function body kept as text (SQL or
// PL/pgSQL), may call the function named name: the name is read in it as
// an identifier followed by "(", by PostgreSQL's scanner, so comments
// and string constants do not count. It errs towards yes: a namesake in
// another schema counts, and so does a body the scanner rejects that
// holds the name. A call built as a string (EXECUTE) is not seen.
func Calls(body, name string) bool { return CallTest(body)(name) }

// CallTest returns Calls for body, with body scanned once: callers that
// ask about many names of one body use it.
func CallTest(body string) func(name string) bool {
	toks, err := Scan(body)
	if err != nil {
		return func(name string) bool { return strings.Contains(body, name) }
	}
	called := map[string]bool{}
	prev := ""
	for _, t := range toks {
		text := body[t.GetStart():t.GetEnd()]
		if strings.HasPrefix(text, "--") || strings.HasPrefix(text, "/*") {
			continue
		}
		if text == "(" && prev != "" {
			called[prev] = true
		}
		prev = identName(text)
	}
	return func(name string) bool { return called[name] }
}

// A Routine is a function or procedure as Callers reads it: its name
// and whether its body may call a name (CallTest).
type Routine struct {
	Name  string
	Calls func(name string) bool
}

// Callers returns the keys of the routines that call the routine named
// name, directly or through one another, at any depth.
func Callers[K comparable](routines map[K]Routine, name string) map[K]bool {
	out := map[K]bool{}
	names := map[string]bool{name: true}
	for grown := true; grown; {
		grown = false
		for k, r := range routines {
			if out[k] {
				continue
			}
			for n := range names {
				if r.Calls(n) {
					out[k], names[r.Name], grown = true, true, true
					break
				}
			}
		}
	}
	return out
}

// identName is the name an identifier token stands for: a quoted one's
// text, an unquoted one folded as PostgreSQL folds it.
func identName(tok string) string {
	if q, ok := strings.CutPrefix(tok, `"`); ok {
		return strings.ReplaceAll(strings.TrimSuffix(q, `"`), `""`, `"`)
	}
	return lowerASCII(tok)
}
