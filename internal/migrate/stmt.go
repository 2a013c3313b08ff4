package migrate

import "strings"

// This lexer repeats a little of PostgreSQL's scanner instead of using
// pg_query_go's because apply must build without cgo (make run's devdb
// applies migrations from a CGO_ENABLED=0 binary).

// word is one lexical token of a statement, with its byte span: a
// keyword or identifier (folded to lower case unless quoted), a string
// literal (text "'"), or a punctuation character. It is enough to
// recognise the few statement shapes apply treats specially, not to
// parse PostgreSQL.
type word struct {
	text       string
	quoted     bool // a "quoted identifier"
	start, end int
}

func (w word) is(kw string) bool { return !w.quoted && w.text == kw }

// words splits a statement into tokens, skipping whitespace and comments.
func words(s string) []word {
	var out []word
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return out
			}
			i += j + 1
		case strings.HasPrefix(s[i:], "/*"):
			// Block comments nest in PostgreSQL.
			depth, j := 1, i+2
			for j < len(s) && depth > 0 {
				switch {
				case strings.HasPrefix(s[j:], "/*"):
					depth, j = depth+1, j+2
				case strings.HasPrefix(s[j:], "*/"):
					depth, j = depth-1, j+2
				default:
					j++
				}
			}
			i = j
		case c == '\'' || c == '"':
			// E'…' (the E lexed as a word just before) escapes with
			// backslashes: \' does not end it.
			escapes := c == '\'' && len(out) > 0 && out[len(out)-1].text == "e" && out[len(out)-1].end == i
			if escapes {
				out = out[:len(out)-1]
			}
			var b strings.Builder
			j := i + 1
			for j < len(s) {
				if escapes && s[j] == '\\' && j+1 < len(s) {
					b.WriteByte(s[j+1])
					j += 2
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			end := min(j+1, len(s))
			if c == '\'' {
				out = append(out, word{text: "'", start: i, end: end})
			} else {
				out = append(out, word{text: b.String(), quoted: true, start: i, end: end})
			}
			i = end
		case c == '$' && dollarTag(s[i:]) != "":
			tag := dollarTag(s[i:])
			k := strings.Index(s[i+len(tag):], tag)
			if k < 0 {
				return out
			}
			end := i + len(tag) + k + len(tag)
			out = append(out, word{text: "'", start: i, end: end})
			i = end
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && (isIdentStart(s[j]) || (s[j] >= '0' && s[j] <= '9') || s[j] == '$') {
				j++
			}
			out = append(out, word{text: strings.ToLower(s[i:j]), start: i, end: j})
			i = j
		default:
			out = append(out, word{text: string(c), start: i, end: i + 1})
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
		case isIdentStart(c), j > 1 && c >= '0' && c <= '9':
		default:
			return ""
		}
	}
	return ""
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

// skipWords advances i past the given optional words, in order.
func skipWords(ws []word, i int, kws ...string) int {
	for _, kw := range kws {
		if i < len(ws) && ws[i].is(kw) {
			i++
		}
	}
	return i
}

// relName reads a possibly qualified name at ws[i] and returns its text
// as written in s (quotes kept) and the index after it; "" when ws[i] is
// not a name.
func relName(s string, ws []word, i int) (string, int) {
	if i >= len(ws) || (!ws[i].quoted && !isIdentStart(ws[i].text[0])) {
		return "", i
	}
	start, end := ws[i].start, ws[i].end
	i++
	for i+1 < len(ws) && ws[i].is(".") {
		end = ws[i+1].end
		i += 2
	}
	return s[start:end], i
}

// concurrentIndex is a CREATE [UNIQUE] INDEX CONCURRENTLY statement.
type concurrentIndex struct {
	name     string // the index name, folded as PostgreSQL folds it
	table    string // the table as written (quotes and schema kept)
	tableEnd int    // byte offset after the table name
	tableAt  int    // byte offset of the table name
	concAt   int    // byte span of the CONCURRENTLY keyword
	concEnd  int
}

// parseConcurrentIndex recognises CREATE [UNIQUE] INDEX CONCURRENTLY
// [IF NOT EXISTS] name ON [ONLY] table …; ok is false for anything else,
// and for an index without a name (PostgreSQL picks one, so no earlier
// build can be recognised).
func parseConcurrentIndex(s string) (concurrentIndex, bool) {
	ws := words(s)
	if len(ws) < 6 || !ws[0].is("create") {
		return concurrentIndex{}, false
	}
	i := skipWords(ws, 1, "unique")
	if i+1 >= len(ws) || !ws[i].is("index") || !ws[i+1].is("concurrently") {
		return concurrentIndex{}, false
	}
	ci := concurrentIndex{concAt: ws[i+1].start, concEnd: ws[i+1].end}
	i += 2
	if i+2 < len(ws) && ws[i].is("if") && ws[i+1].is("not") && ws[i+2].is("exists") {
		i += 3
	}
	if i >= len(ws) || ws[i].is("on") {
		return concurrentIndex{}, false
	}
	ci.name = ws[i].text
	i++
	if i >= len(ws) || !ws[i].is("on") {
		return concurrentIndex{}, false
	}
	i = skipWords(ws, i+1, "only")
	if i >= len(ws) {
		return concurrentIndex{}, false
	}
	ci.tableAt = ws[i].start
	ci.table, i = relName(s, ws, i)
	if ci.table == "" {
		return concurrentIndex{}, false
	}
	ci.tableEnd = ws[i-1].end
	return ci, true
}

// isSessionSet reports whether a statement changes a session setting
// that outlives it: SET or RESET, but not SET LOCAL, SET TRANSACTION or
// SET CONSTRAINTS, which end with their transaction.
func isSessionSet(s string) bool {
	ws := words(s)
	if len(ws) < 2 || !(ws[0].is("set") || ws[0].is("reset")) {
		return false
	}
	return !ws[1].is("local") && !ws[1].is("transaction") && !ws[1].is("constraints")
}

// lockedTable names the table a statement locks, as written, for the
// statements that lock one table by name; "" for others.
func lockedTable(s string) string {
	ws := words(s)
	if len(ws) < 2 {
		return ""
	}
	var i int
	switch {
	case ws[0].is("alter") && ws[1].is("table"):
		i = skipWords(ws, 2, "if", "exists")
		i = skipWords(ws, i, "only")
	case ws[0].is("lock"), ws[0].is("truncate"):
		i = skipWords(ws, 1, "table")
		i = skipWords(ws, i, "only")
	case ws[0].is("drop") && ws[1].is("table"):
		i = skipWords(ws, 2, "if", "exists")
	case ws[0].is("create"):
		j := skipWords(ws, 1, "unique")
		if j >= len(ws) || !ws[j].is("index") {
			return ""
		}
		for j < len(ws) && !ws[j].is("on") {
			j++
		}
		i = skipWords(ws, j+1, "only")
	default:
		return ""
	}
	name, _ := relName(s, ws, i)
	return name
}

// droppedIndex names the first index a DROP INDEX statement drops, as
// written; "" for other statements.
func droppedIndex(s string) string {
	ws := words(s)
	if len(ws) < 3 || !ws[0].is("drop") || !ws[1].is("index") {
		return ""
	}
	i := skipWords(ws, 2, "concurrently")
	i = skipWords(ws, i, "if", "exists")
	name, _ := relName(s, ws, i)
	return name
}

// parseDetachConcurrently recognises ALTER TABLE [ONLY] parent DETACH
// PARTITION child CONCURRENTLY, returning both names as written.
func parseDetachConcurrently(s string) (parent, child string, ok bool) {
	ws := words(s)
	if len(ws) < 7 || !ws[0].is("alter") || !ws[1].is("table") {
		return "", "", false
	}
	parent, i := relName(s, ws, skipWords(ws, 2, "only"))
	if parent == "" || i+1 >= len(ws) || !ws[i].is("detach") || !ws[i+1].is("partition") {
		return "", "", false
	}
	child, i = relName(s, ws, i+2)
	if child == "" || i >= len(ws) || !ws[i].is("concurrently") {
		return "", "", false
	}
	if i++; i < len(ws) && ws[i].is(";") {
		i++
	}
	return parent, child, i == len(ws)
}
