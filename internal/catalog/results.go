package catalog

import (
	"strings"

	"tasks/internal/sqltext"
)

// ResultsMayChange reports whether o, a function or procedure replaced in
// place from from (CREATE OR REPLACE), may return other results for the
// same arguments: its body, language, settings (a search_path resolves
// other names), volatility or strictness differ. Its cost, row estimate,
// parallel safety, leakproofness and security do not change what it
// computes. Data computed with the old version (index entries, stored
// generated columns, rows a check accepted) is then stale.
func (o *Object) ResultsMayChange(from *Object) bool {
	if o.fn == nil || from.fn == nil {
		return false
	}
	return o.fn.results() != from.fn.results()
}

// results is what of a function decides its results.
func (f *Function) results() string {
	body := f.Body
	switch {
	case f.SQLBody:
		body = f.Def
	case f.Language != "c" && f.Language != "internal":
		body = sqltext.Normalize(f.Body)
	}
	var a []string
	for _, attr := range f.Attrs {
		switch {
		case strings.HasPrefix(attr, "COST "), strings.HasPrefix(attr, "ROWS "), strings.HasPrefix(attr, "PARALLEL "),
			attr == "LEAKPROOF", attr == "SECURITY DEFINER":
			continue
		}
		a = append(a, attr)
	}
	return strings.Join([]string{f.Language, strings.Join(a, " "), body}, "\n")
}

// Routine returns o, a function or procedure, as sqltext.Callers reads
// it, when its body is kept as text (any language but C and internal,
// and not a SQL-standard body, whose calls pg_depend records); ok is
// false for any other object.
func (o *Object) Routine() (r sqltext.Routine, ok bool) {
	f := o.fn
	if f == nil || f.SQLBody || f.Language == "c" || f.Language == "internal" {
		return r, false
	}
	return sqltext.Routine{Name: o.Name, Calls: sqltext.CallTest(f.Body)}, true
}
