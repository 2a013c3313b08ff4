package catalog

import (
	"strings"
	"unicode"
)

// Same reports whether two functions are the same definition: same
// result, language and attributes (normalized by PostgreSQL itself), and
// bodies that differ at most in whitespace, comments and the case of
// unquoted words.
func Same(a, b *Function) bool {
	if a.Result != b.Result || a.Language != b.Language || a.Kind != b.Kind ||
		a.ArgsDecl != b.ArgsDecl || strings.Join(a.Attrs, " ") != strings.Join(b.Attrs, " ") {
		return false
	}
	if a.SQLBody || b.SQLBody {
		// PostgreSQL parsed these bodies; its rendering is canonical.
		return a.SQLBody == b.SQLBody && a.Def == b.Def
	}
	if a.Language == "c" || a.Language == "internal" {
		return a.Body == b.Body
	}
	return NormalizeBody(a.Body) == NormalizeBody(b.Body)
}

// NormalizeBody reduces SQL or PL/pgSQL source to a canonical token
// string: comments dropped, whitespace reduced to single spaces between
// tokens, unquoted words lower-cased. String literals, quoted identifiers
// and dollar-quoted strings are kept byte for byte.
func NormalizeBody(src string) string {
	var (
		b      strings.Builder
		tokens int
	)
	emit := func(tok string) {
		if tokens > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(tok)
		tokens++
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			// Block comments nest in PostgreSQL.
			depth := 0
			for i < len(src) {
				if strings.HasPrefix(src[i:], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(src[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(src) {
				if src[j] == c {
					if j+1 < len(src) && src[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(src))
			emit(src[i:j])
			i = j
		case c == '$':
			if tag, ok := dollarTag(src[i:]); ok {
				end := strings.Index(src[i+len(tag):], tag)
				j := len(src)
				if end >= 0 {
					j = i + len(tag) + end + len(tag)
				}
				emit(src[i:j])
				i = j
				continue
			}
			j := i + 1 // a positional parameter: $1
			for j < len(src) && isWord(src[j]) {
				j++
			}
			emit(src[i:j])
			i = j
		case isWord(c) || c >= 0x80:
			j := i
			for j < len(src) && (isWord(src[j]) || src[j] >= 0x80) {
				j++
			}
			emit(strings.ToLower(src[i:j]))
			i = j
		default:
			emit(src[i : i+1])
			i++
		}
	}
	return b.String()
}

func isWord(c byte) bool {
	return c == '_' || c == '$' || c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)))
}

// dollarTag returns the opening tag of a dollar-quoted string at the start
// of s ($$ or $name$).
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '$':
			return s[:j+1], true
		case c == '_' || unicode.IsLetter(rune(c)) || (j > 1 && unicode.IsDigit(rune(c))):
		default:
			return "", false
		}
	}
	return "", false
}

// CreateSQL renders the function as CREATE (or CREATE OR REPLACE)
// FUNCTION/PROCEDURE, in the shape Atlas writes: the name quoted and
// unqualified, the body dollar-quoted byte for byte.
func (f *Function) CreateSQL(orReplace bool) string {
	if f.SQLBody {
		def := strings.TrimSpace(f.Def)
		if !orReplace {
			def = strings.Replace(def, "CREATE OR REPLACE", "CREATE", 1)
		}
		return def
	}
	var b strings.Builder
	b.WriteString("CREATE ")
	if orReplace {
		b.WriteString("OR REPLACE ")
	}
	kind := "FUNCTION"
	if f.Kind == "p" {
		kind = "PROCEDURE"
	}
	b.WriteString(kind + " " + QuoteIdent(f.Name) + " (" + f.ArgsDecl + ")")
	if f.Result != "" {
		b.WriteString(" RETURNS " + f.Result)
	}
	b.WriteString(" LANGUAGE " + f.Language)
	for _, a := range f.Attrs {
		b.WriteString(" " + a)
	}
	tag := "$$"
	for i := 0; strings.Contains(f.Body, tag); i++ {
		tag = "$body" + strings.Repeat("_", i) + "$"
	}
	b.WriteString(" AS " + tag + f.Body + tag)
	return b.String()
}

// DropSQL renders DROP FUNCTION/PROCEDURE for f.
func (f *Function) DropSQL() string {
	kind := "FUNCTION"
	if f.Kind == "p" {
		kind = "PROCEDURE"
	}
	return "DROP " + kind + " " + QuoteIdent(f.Name) + " (" + f.Args + ")"
}

// CreateSQL is the trigger's definition as PostgreSQL renders it.
func (t *Trigger) CreateSQL() string { return t.Def }

// DropSQL renders DROP TRIGGER for t.
func (t *Trigger) DropSQL() string {
	return "DROP TRIGGER " + QuoteIdent(t.Name) + " ON " + QuoteIdent(t.Table)
}
