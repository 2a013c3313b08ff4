package catalog

import (
	"strings"
)

// listQuoted are the settings whose value is a list of names, each
// double-quoted where needed (PostgreSQL's GUC_LIST_QUOTE): a function's
// SET clause names every element as a literal of its own.
var listQuoted = map[string]bool{
	"search_path": true, "temp_tablespaces": true, "local_preload_libraries": true,
	"session_preload_libraries": true, "shared_preload_libraries": true,
}

// setClause renders one item of pg_proc.proconfig ("name=value") as a
// function's SET clause. A list setting such as search_path is stored as
// "pg_catalog, public": its elements are split as PostgreSQL splits them
// and quoted one by one, as pg_get_functiondef does; quoted as one
// literal it would name a single schema "pg_catalog, public".
func setClause(item string) string {
	k, v, _ := strings.Cut(item, "=")
	if !listQuoted[strings.ToLower(k)] {
		return "SET " + k + " = " + QuoteLiteral(v)
	}
	elems := splitGUCList(v)
	parts := make([]string, len(elems))
	for i, e := range elems {
		parts[i] = QuoteLiteral(e)
	}
	return "SET " + k + " = " + strings.Join(parts, ", ")
}

// splitGUCList splits a list setting's stored value: elements separated
// by commas and blanks, each bare or double-quoted ("" for a quote
// inside), without case folding.
func splitGUCList(v string) []string {
	var out []string
	i := 0
	skip := func() {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
			i++
		}
	}
	skip()
	if i == len(v) {
		return []string{""}
	}
	for i < len(v) {
		var b strings.Builder
		if v[i] == '"' {
			i++
			for i < len(v) {
				if v[i] == '"' {
					if i+1 < len(v) && v[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(v[i])
				i++
			}
		} else {
			for i < len(v) && v[i] != ',' && v[i] != ' ' && v[i] != '\t' && v[i] != '\n' && v[i] != '\r' {
				b.WriteByte(v[i])
				i++
			}
		}
		out = append(out, b.String())
		skip()
		if i < len(v) && v[i] == ',' {
			i++
			skip()
		}
	}
	return out
}
