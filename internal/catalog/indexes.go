package catalog

import (
	"strings"
)

// indexParts are an index's definition without its WITH clause, and its
// storage parameters ("key=value").
type indexParts struct {
	bare string
	opts []string
}

// indexOptions lets an index whose only change is its storage parameters
// be altered in place (ALTER INDEX … SET / RESET) instead of dropped and
// built again; opts are its reloptions.
func (m *Model) indexOptions(o *Object, opts []string) {
	parts := &indexParts{bare: o.Def, opts: opts}
	if len(opts) > 0 {
		parts.bare = withoutWith(o.Def)
	}
	o.index = parts
	name := "ALTER INDEX " + m.Qualify(o.Schema, o.Name)
	vals := map[string]string{}
	keys := make([]string, 0, len(opts))
	for _, kv := range opts {
		k, v, _ := strings.Cut(kv, "=")
		vals[k] = v
		keys = append(keys, k)
	}
	o.Alter = func(from *Object) ([]string, bool) {
		if from.index == nil || from.index.bare != parts.bare {
			return nil, false
		}
		old := map[string]string{}
		var gone, changed []string
		for _, kv := range from.index.opts {
			k, v, _ := strings.Cut(kv, "=")
			old[k] = v
			if _, ok := vals[k]; !ok {
				gone = append(gone, k)
			}
		}
		for _, k := range keys {
			if v, ok := old[k]; !ok || v != vals[k] {
				changed = append(changed, k+" = "+optionValue(vals[k]))
			}
		}
		var s []string
		if len(gone) > 0 {
			s = append(s, name+" RESET ("+strings.Join(gone, ", ")+")")
		}
		if len(changed) > 0 {
			s = append(s, name+" SET ("+strings.Join(changed, ", ")+")")
		}
		return s, true
	}
}

// withoutWith removes the WITH (…) clause pg_get_indexdef writes for
// storage parameters (values quoted or not, as it decides).
func withoutWith(def string) string {
	i := strings.LastIndex(def, " WITH (")
	if i < 0 {
		return def
	}
	inQuote := false
	for j := i + len(" WITH ("); j < len(def); j++ {
		switch {
		case def[j] == '\'':
			inQuote = !inQuote
		case def[j] == ')' && !inQuote:
			return def[:i] + def[j+1:]
		}
	}
	return def
}
