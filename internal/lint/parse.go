package lint

import (
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	pgquery "github.com/pganalyze/pg_query_go/v6"

	"tasks/internal/sqltext"
)

// token is one lexical token of a statement: a keyword or identifier
// (word, lower-cased unless quoted), a string constant (text "'"), or
// an operator, punctuation character, number or $n parameter as written.
type token struct {
	text   string
	quoted bool   // a "quoted identifier"
	raw    string // a string constant as written, when text is "'"
}

func (t token) is(word string) bool { return !t.quoted && t.text == word }

// lit is a string constant's value, escapes decoded; "" when PostgreSQL
// would not read it as one.
func (t token) lit() string {
	v, err := sqltext.Literal(t.raw)
	if err != nil {
		return ""
	}
	return v
}

// tokens reads a statement with PostgreSQL's own scanner, so that every
// literal and comment form the server knows (E'…' escapes, nested /* */,
// dollar quotes) is delimited exactly as the server does. Comments are
// dropped. It is enough to recognise statement shapes, not to parse
// PostgreSQL; a statement the scanner rejects has no tokens.
func tokens(s string) []token {
	scanned, err := sqltext.Scan(s)
	if err != nil {
		return nil
	}
	out := make([]token, 0, len(scanned))
	for _, t := range scanned {
		text := s[t.GetStart():t.GetEnd()]
		switch t.GetToken() {
		case pgquery.Token_SQL_COMMENT, pgquery.Token_C_COMMENT:
			continue
		case pgquery.Token_SCONST, pgquery.Token_USCONST:
			out = append(out, token{text: "'", raw: text})
			continue
		case pgquery.Token_IDENT, pgquery.Token_UIDENT:
			if i := strings.IndexByte(text, '"'); i >= 0 && strings.HasSuffix(text, `"`) && len(text) > i+1 {
				out = append(out, token{text: strings.ReplaceAll(text[i+1:len(text)-1], `""`, `"`), quoted: true})
				continue
			}
		}
		if t.GetKeywordKind() != pgquery.KeywordKind_NO_KEYWORD || t.GetToken() == pgquery.Token_IDENT {
			text = strings.ToLower(text)
		}
		out = append(out, token{text: text})
	}
	return out
}

// name reads a possibly schema-qualified name at toks[i] and returns its
// last part and the index after it.
func name(toks []token, i int) (string, int) {
	if i >= len(toks) {
		return "", i
	}
	n := toks[i].text
	i++
	for i+1 < len(toks) && toks[i].is(".") {
		n = toks[i+1].text
		i += 2
	}
	return n, i
}

// skip advances past the given optional words, in order.
func skip(toks []token, i int, words ...string) int {
	for _, w := range words {
		if i < len(toks) && toks[i].is(w) {
			i++
		}
	}
	return i
}

// rename is an ALTER TABLE … RENAME: of the table when column is "".
type rename struct{ table, column, to string }

func parseRename(stmt string) (rename, bool) {
	toks := tokens(stmt)
	if len(toks) < 5 || !toks[0].is("alter") || !toks[1].is("table") {
		return rename{}, false
	}
	i := skip(toks, 2, "if", "exists")
	i = skip(toks, i, "only")
	var r rename
	r.table, i = name(toks, i)
	i = skip(toks, i, "*")
	if i >= len(toks) || !toks[i].is("rename") {
		return rename{}, false
	}
	i++
	switch {
	case i+1 < len(toks) && toks[i].is("to"):
		r.to = toks[i+1].text
	case i < len(toks) && toks[i].is("constraint"):
		return rename{}, false
	default:
		i = skip(toks, i, "column")
		if i+2 >= len(toks) || !toks[i+1].is("to") {
			return rename{}, false
		}
		r.column, r.to = toks[i].text, toks[i+2].text
	}
	return r, true
}

// parser is the sqlcheck.File.Parser Atlas's analyzers consult for facts
// a schema diff cannot show.
type parser struct{}

// ColumnFilledBefore reports whether a statement before pos fills the
// column's NULLs (UPDATE t SET c = … without a WHERE, or with one that
// tests c IS NULL), so that making it NOT NULL is safe (MF104).
func (parser) ColumnFilledBefore(stmts []*migrate.Stmt, t *schema.Table, c *schema.Column, pos int) (bool, error) {
	for _, s := range stmts {
		if s.Pos >= pos {
			break
		}
		toks := tokens(s.Text)
		if len(toks) < 4 || !toks[0].is("update") {
			continue
		}
		table, i := name(toks, skip(toks, 1, "only"))
		if table != t.Name {
			continue
		}
		sets, where := false, -1
		for j := i; j < len(toks); j++ {
			switch {
			case toks[j].is("where"):
				where = j
			case where == -1 && toks[j].text == c.Name && j+1 < len(toks) && toks[j+1].is("="):
				sets = true
			}
			if where != -1 {
				break
			}
		}
		if !sets {
			continue
		}
		if where == -1 {
			return true, nil
		}
		for j := where; j+2 < len(toks); j++ {
			if toks[j].text == c.Name && toks[j+1].is("is") && toks[j+2].is("null") {
				return true, nil
			}
		}
	}
	return false, nil
}
