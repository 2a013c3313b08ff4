package lint

import (
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
)

// token is one lexical token of a statement: a keyword or identifier
// (word, lower-cased unless quoted), or a punctuation character.
type token struct {
	text   string
	quoted bool   // a "quoted identifier"
	lit    string // a string literal's value, when text is "'"
}

func (t token) is(word string) bool { return !t.quoted && t.text == word }

// tokens splits a statement into words, quoted identifiers and
// punctuation, skipping whitespace, comments and string literals (which
// become a single "'" token). It is enough to recognise statement shapes,
// not to parse PostgreSQL.
func tokens(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return out
			}
			i += j + 1
		case strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return out
			}
			i += j + 4
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for j < len(s) {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, token{text: "'", lit: b.String()})
			i = j + 1
		case c == '"':
			var b strings.Builder
			j := i + 1
			for j < len(s) {
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, token{text: b.String(), quoted: true})
			i = j + 1
		case c == '$' && dollarTag(s[i:]) != "":
			// A dollar-quoted body: $tag$ … $tag$.
			tag := dollarTag(s[i:])
			k := strings.Index(s[i+len(tag):], tag)
			if k < 0 {
				return out
			}
			out = append(out, token{text: "'"})
			i += len(tag) + k + len(tag)
		case isWordStart(c):
			j := i + 1
			for j < len(s) && (isWordStart(s[j]) || (s[j] >= '0' && s[j] <= '9') || s[j] == '$') {
				j++
			}
			out = append(out, token{text: strings.ToLower(s[i:j])})
			i = j
		default:
			out = append(out, token{text: string(c)})
			i++
		}
	}
	return out
}

// dollarTag returns the $tag$ (or $$) s starts with, or "" when the $ is
// something else, such as a $1 parameter.
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '$':
			return s[:j+1]
		case isWordStart(c), j > 1 && c >= '0' && c <= '9':
		default:
			return ""
		}
	}
	return ""
}

func isWordStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
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
