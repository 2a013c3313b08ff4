// Package sqltext compares SQL and PL/pgSQL source the way PostgreSQL
// reads it: layout and comments outside literals do not count, the case
// of unquoted words does not count, and nothing inside a literal or a
// quoted identifier may differ.
package sqltext

import (
	"strings"
	"unicode"
)

// Equivalent reports whether a and b are the same source to PostgreSQL's
// lexer.
func Equivalent(a, b string) bool { return Normalize(a) == Normalize(b) }

// Normalize reduces SQL or PL/pgSQL source to a canonical token string:
// comments dropped, whitespace reduced to single spaces between tokens,
// unquoted words lower-cased. String literals, quoted identifiers and
// dollar-quoted strings are kept byte for byte.
func Normalize(src string) string {
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
