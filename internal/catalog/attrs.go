package catalog

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lib/pq"
)

// attr returns an attribute object (row-level security, storage
// parameters, …) of the object parent: it needs its parent, goes with it
// when the parent is dropped, and is set again when the parent is
// re-created.
// Setting an attribute to a new value is what creating it does, so
// Alter repeats Create unless the kind says otherwise.
func (m *Model) attr(kind Kind, parent *Object, def string, create, drop []string) *Object {
	o := &Object{
		ID:     AttrID(kind, parent.ID),
		Kind:   kind,
		Schema: parent.Schema,
		Name:   parent.Name,
		Table:  parent.Table,
		Def:    def,
		Create: create,
		Drop:   drop,
		Deps:   []Dep{{ID: parent.ID, Auto: true}},
	}
	if parent.Kind == KindColumn {
		// "t.c" names a column's attribute in the migration's comments.
		o.Name = parent.Table + "." + parent.Name
	}
	if _, ok := m.Objects[parent.ID]; !ok {
		// A part the model holds no object for (a view's column):
		// depend on what the part depends on.
		o.Deps = parent.Deps
	}
	o.Alter = func(*Object) ([]string, bool) { return o.Create, true }
	return o
}

// relation returns the model's object for the relation with OID oid, or
// nil when the model does not hold it (another schema, an extension's).
func (m *Model) relation(oid uint32) *Object {
	id, ok := m.Lookup(Addr{"pg_class", oid, 0})
	if !ok {
		return nil
	}
	return m.Objects[id]
}

// inspectTableAttrs adds the attributes of the model's tables that
// Atlas's table diff does not plan: row-level security, storage
// parameters, replica identity, UNLOGGED and the column attributes of
// columnAttrs. Each is
// an object only when it differs from PostgreSQL's default, so a table
// left at the defaults has none and a dropped attribute is a reset.
func inspectTableAttrs(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT c.oid, c.relrowsecurity, c.relforcerowsecurity, coalesce(c.reloptions, '{}'),
       coalesce((SELECT t.reloptions FROM pg_class t WHERE t.oid = c.reltoastrelid), '{}'),
       c.relreplident,
       coalesce(ri.relname, ''), coalesce(ri.oid, 0), c.relpersistence = 'u'
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN (pg_index x JOIN pg_class ri ON ri.oid = x.indexrelid) ON x.indrelid = c.oid AND x.indisreplident
WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p')
ORDER BY n.nspname, c.relname`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: table attributes: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			oid                  uint32
			rls, force           bool
			opts, toast          []string
			replident, replindex string
			replOID              uint32
			unlogged             bool
		)
		if err := rows.Scan(&oid, &rls, &force, pq.Array(&opts), pq.Array(&toast), &replident, &replindex, &replOID, &unlogged); err != nil {
			return fmt.Errorf("catalog: table attributes: %w", err)
		}
		t := m.relation(oid)
		if t == nil {
			continue
		}
		name := m.Qualify(t.Schema, t.Name)
		if rls || force {
			add = append(add, m.rlsObject(t, name, rls, force))
		}
		for _, o := range toast {
			opts = append(opts, "toast."+o)
		}
		if len(opts) > 0 {
			add = append(add, m.storageObject(t, name, opts))
		}
		if o := m.replicaObject(t, name, replident, replindex, replOID); o != nil {
			add = append(add, o)
		}
		if unlogged {
			// Atlas's CREATE TABLE writes a logged table; SET LOGGED
			// and SET UNLOGGED rewrite it.
			add = append(add, m.attr(KindUnlogged, t, "unlogged", []string{"ALTER TABLE " + name + " SET UNLOGGED"},
				[]string{"ALTER TABLE " + name + " SET LOGGED"}))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: table attributes: %w", err)
	}

	cols, err := m.columnAttrs(ctx, q)
	if err != nil {
		return err
	}
	add = append(add, cols...)
	return m.addAll(add)
}

// storageNames are attstorage's letters as SET STORAGE spells them.
var storageNames = map[string]string{"p": "PLAIN", "e": "EXTERNAL", "x": "EXTENDED", "m": "MAIN"}

// columnAttrs reads the attributes of table and materialized view
// columns that Atlas's table diff does not plan, each an object only when it is not PostgreSQL's
// default: the statistics target, the storage mode (the type's own is
// the default), the compression method, and the per-column options
// (n_distinct, n_distinct_inherited).
func (m *Model) columnAttrs(ctx context.Context, q Querier) ([]*Object, error) {
	rows, err := q.QueryContext(ctx, `
SELECT a.attrelid, a.attnum, c.relname, c.relkind::text, a.attname, coalesce(a.attstattarget, -1),
       a.attstorage::text, t.typstorage::text,
       a.attcompression::text,
       coalesce((SELECT array_agg(o ORDER BY o) FROM unnest(a.attoptions) o
                 -- an internal option some builds stamp on every column
                 WHERE o NOT LIKE 'pg\_attver=%'), '{}')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'm') AND a.attnum > 0 AND NOT a.attisdropped
  AND (coalesce(a.attstattarget, -1) >= 0 OR a.attstorage <> t.typstorage OR a.attcompression <> ''
       OR a.attoptions IS NOT NULL)
ORDER BY 1, 2`, pqArray(m.Schemas))
	if err != nil {
		return nil, fmt.Errorf("catalog: column attributes: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			oid                                         uint32
			attnum                                      int32
			rel, relkind, col, storage, typStorage, cmp string
			target                                      int
			opts                                        []string
		)
		if err := rows.Scan(&oid, &attnum, &rel, &relkind, &col, &target, &storage, &typStorage, &cmp, pq.Array(&opts)); err != nil {
			return nil, fmt.Errorf("catalog: column attributes: %w", err)
		}
		// A materialized view's columns are not objects of the model:
		// parentOf makes one up that goes with the view, so the
		// attributes are set again when the view is re-created.
		parent, tbl := m.parentOf(Addr{"pg_class", oid, attnum}, rel, col), m.relation(oid)
		if parent == nil || tbl == nil {
			continue
		}
		alter := "ALTER TABLE " + m.Qualify(tbl.Schema, tbl.Name) + " ALTER COLUMN " + QuoteIdent(col) + " "
		if relkind == "m" {
			alter = "ALTER MATERIALIZED VIEW " + m.Qualify(tbl.Schema, tbl.Name) + " ALTER COLUMN " + QuoteIdent(col) + " "
		}
		if target >= 0 {
			add = append(add, m.attr(KindColumnStats, parent, strconv.Itoa(target),
				[]string{alter + "SET STATISTICS " + strconv.Itoa(target)}, []string{alter + "SET STATISTICS -1"}))
		}
		if storage != typStorage {
			// PostgreSQL 15 has no SET STORAGE DEFAULT: the type's own
			// mode is named.
			add = append(add, retyped(m.attr(KindColumnStorage, parent, storageNames[storage],
				[]string{alter + "SET STORAGE " + storageNames[storage]}, []string{alter + "SET STORAGE " + storageNames[typStorage]})))
		}
		if cmp != "" {
			method := map[string]string{"p": "pglz", "l": "lz4"}[cmp]
			if method == "" {
				return nil, fmt.Errorf("catalog: column %s.%s: unknown compression method %q", tbl.Name, col, cmp)
			}
			add = append(add, retyped(m.attr(KindCompression, parent, method,
				[]string{alter + "SET COMPRESSION " + method}, []string{alter + "SET COMPRESSION DEFAULT"})))
		}
		if len(opts) > 0 {
			add = append(add, m.columnOptions(parent, alter, opts))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: column attributes: %w", err)
	}
	return add, nil
}

// retyped marks a column attribute that a change of the column's type
// resets.
func retyped(o *Object) *Object {
	for i := range o.Deps {
		o.Deps[i].Retype = true
	}
	return o
}

// columnOptions is a column's options (ALTER COLUMN … SET (n_distinct =
// …)); alter is "ALTER TABLE t ALTER COLUMN c ". A change resets the
// options that went and sets those that are new or changed.
func (m *Model) columnOptions(parent *Object, alter string, opts []string) *Object {
	vals := map[string]string{}
	keys := make([]string, 0, len(opts))
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		vals[k] = v
		keys = append(keys, k)
	}
	set := func(keys []string) string {
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + " = " + vals[k]
		}
		return alter + "SET (" + strings.Join(parts, ", ") + ")"
	}
	reset := func(keys []string) string { return alter + "RESET (" + strings.Join(keys, ", ") + ")" }
	o := m.attr(KindColumnOptions, parent, strings.Join(opts, "\n"), []string{set(keys)}, []string{reset(keys)})
	o.Alter = alterOptions(keys, vals, set, reset)
	return o
}

// inspectViewDefaults adds the column defaults of views (ALTER VIEW …
// ALTER COLUMN … SET DEFAULT), which an INSERT through the view uses.
// CREATE OR REPLACE VIEW keeps them; a re-created view loses them, and
// they are set again after it.
func inspectViewDefaults(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT c.oid, a.attnum, c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid)
FROM pg_attrdef d
JOIN pg_class c ON c.oid = d.adrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.adnum
WHERE n.nspname = ANY($1) AND c.relkind = 'v'
ORDER BY n.nspname, c.relname, a.attnum`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: view column defaults: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			oid             uint32
			attnum          int32
			view, col, expr string
		)
		if err := rows.Scan(&oid, &attnum, &view, &col, &expr); err != nil {
			return fmt.Errorf("catalog: view column defaults: %w", err)
		}
		v := m.relation(oid)
		parent := m.parentOf(Addr{"pg_class", oid, attnum}, view, col)
		if v == nil || parent == nil {
			continue
		}
		alter := "ALTER VIEW " + m.Qualify(v.Schema, v.Name) + " ALTER COLUMN " + QuoteIdent(col) + " "
		add = append(add, m.attr(KindViewDefault, parent, expr,
			[]string{alter + "SET DEFAULT " + expr}, []string{alter + "DROP DEFAULT"}))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: view column defaults: %w", err)
	}
	return m.addAll(add)
}

// rlsObject is a table's row-level security: enabled, and forced on the
// table's owner too. Create and Drop start from (and return to)
// PostgreSQL's default, neither enabled nor forced.
func (m *Model) rlsObject(t *Object, name string, rls, force bool) *Object {
	stmts := func(fromRLS, fromForce, toRLS, toForce bool) []string {
		var s []string
		if fromRLS != toRLS {
			s = append(s, "ALTER TABLE "+name+map[bool]string{true: " ENABLE", false: " DISABLE"}[toRLS]+" ROW LEVEL SECURITY")
		}
		if fromForce != toForce {
			s = append(s, "ALTER TABLE "+name+map[bool]string{true: " FORCE", false: " NO FORCE"}[toForce]+" ROW LEVEL SECURITY")
		}
		return s
	}
	o := m.attr(KindRLS, t, rlsDef(rls, force), stmts(false, false, rls, force), stmts(rls, force, false, false))
	o.Alter = func(from *Object) ([]string, bool) {
		var fromRLS, fromForce bool
		if _, err := fmt.Sscanf(from.Def, rlsFormat, &fromRLS, &fromForce); err != nil {
			return nil, false
		}
		return stmts(fromRLS, fromForce, rls, force), true
	}
	return o
}

const rlsFormat = "enabled=%t forced=%t"

func rlsDef(rls, force bool) string { return fmt.Sprintf(rlsFormat, rls, force) }

// alterOptions changes a set of key=value options (one per line of the
// Def) into keys/vals: RESET for the keys that went, SET for those that
// are new or changed.
func alterOptions(keys []string, vals map[string]string, set, reset func([]string) string) func(*Object) ([]string, bool) {
	return func(from *Object) ([]string, bool) {
		var gone, changed []string
		old := map[string]string{}
		for _, l := range strings.Split(from.Def, "\n") {
			k, v, _ := strings.Cut(l, "=")
			old[k] = v
			if _, ok := vals[k]; !ok {
				gone = append(gone, k)
			}
		}
		for _, k := range keys {
			if v, ok := old[k]; !ok || v != vals[k] {
				changed = append(changed, k)
			}
		}
		var s []string
		if len(gone) > 0 {
			s = append(s, reset(gone))
		}
		if len(changed) > 0 {
			s = append(s, set(changed))
		}
		return s, true
	}
}

// storageObject is a table's storage parameters (reloptions, and its
// TOAST table's as toast.name).
func (m *Model) storageObject(t *Object, name string, opts []string) *Object {
	sort.Strings(opts)
	vals := map[string]string{}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		vals[k] = v
	}
	set := func(keys []string) string {
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + optionValue(vals[k])
		}
		return "ALTER TABLE " + name + " SET (" + strings.Join(parts, ", ") + ")"
	}
	reset := func(keys []string) string { return "ALTER TABLE " + name + " RESET (" + strings.Join(keys, ", ") + ")" }
	keys := make([]string, 0, len(opts))
	for _, o := range opts {
		k, _, _ := strings.Cut(o, "=")
		keys = append(keys, k)
	}
	def := strings.Join(opts, "\n")
	o := m.attr(KindTableOptions, t, def, []string{set(keys)}, []string{reset(keys)})
	o.Alter = alterOptions(keys, vals, set, reset)
	return o
}

// replicaObject is a table's REPLICA IDENTITY when it is not DEFAULT.
func (m *Model) replicaObject(t *Object, name, ident, index string, indexOID uint32) *Object {
	var v string
	switch ident {
	case "f":
		v = "FULL"
	case "n":
		v = "NOTHING"
	case "i":
		v = "USING INDEX " + QuoteIdent(index)
	default:
		return nil
	}
	o := m.attr(KindReplica, t, v, []string{"ALTER TABLE " + name + " REPLICA IDENTITY " + v},
		[]string{"ALTER TABLE " + name + " REPLICA IDENTITY DEFAULT"})
	if ident == "i" {
		// The index must exist first; re-created, it starts without the
		// identity, which this object (depending on it) then sets again.
		if id, ok := m.Lookup(Addr{"pg_class", indexOID, 0}); ok {
			o.Deps = append(o.Deps, Dep{ID: id, Auto: true})
		}
	}
	return o
}

// inspectTriggerStates adds the enabled state of the model's triggers
// that are not simply enabled (ENABLE is what CREATE TRIGGER gives).
func inspectTriggerStates(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT t.oid, t.tgname, c.oid, t.tgenabled
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND NOT t.tgisinternal AND t.tgenabled <> 'O' AND t.tgparentid = 0
ORDER BY n.nspname, c.relname, t.tgname`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: trigger states: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			oid, rel      uint32
			name, enabled string
		)
		if err := rows.Scan(&oid, &name, &rel, &enabled); err != nil {
			return fmt.Errorf("catalog: trigger states: %w", err)
		}
		id, ok := m.Lookup(Addr{"pg_trigger", oid, 0})
		t := m.relation(rel)
		if !ok || t == nil {
			continue
		}
		state := map[string]string{"D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}[enabled]
		if state == "" {
			return fmt.Errorf("catalog: trigger %s: unknown enabled state %q", id, enabled)
		}
		alter := "ALTER TABLE " + m.Qualify(t.Schema, t.Name) + " "
		add = append(add, m.attr(KindTriggerState, m.Objects[id], state,
			[]string{alter + state + " TRIGGER " + QuoteIdent(name)},
			[]string{alter + "ENABLE TRIGGER " + QuoteIdent(name)}))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: trigger states: %w", err)
	}
	return m.addAll(add)
}

// inspectStatistics adds the extended statistics (CREATE STATISTICS) of
// the managed schemas. Def is PostgreSQL's rendering plus the statistics
// target, which only ALTER STATISTICS sets.
func inspectStatistics(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, s.stxname, s.oid, s.stxrelid, pg_get_statisticsobjdef(s.oid),
       'CREATE STATISTICS ' || quote_ident(n.nspname) || '.' || quote_ident(s.stxname),
       coalesce(s.stxstattarget, -1)
FROM pg_statistic_ext s
JOIN pg_namespace n ON n.oid = s.stxnamespace
WHERE n.nspname = ANY($1)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_statistic_ext'::regclass AND d.objid = s.oid AND d.deptype = 'e')
ORDER BY 1, 2`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: statistics: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			schema, name, def, prefix string
			oid, rel                  uint32
			target                    int
		)
		if err := rows.Scan(&schema, &name, &oid, &rel, &def, &prefix, &target); err != nil {
			return fmt.Errorf("catalog: statistics: %w", err)
		}
		// PostgreSQL always qualifies the statistics' own name; the
		// model writes it unqualified in its default schema.
		rest, ok := strings.CutPrefix(def, prefix)
		if !ok {
			return fmt.Errorf("catalog: statistics %s.%s: unexpected definition %q", schema, name, def)
		}
		qname := m.Qualify(schema, name)
		create := []string{"CREATE STATISTICS " + qname + rest}
		setTarget := "ALTER STATISTICS " + qname + " SET STATISTICS " + strconv.Itoa(target)
		if target >= 0 {
			create = append(create, setTarget)
		}
		o := &Object{
			ID:     ID(KindStatistics, schema, name),
			Kind:   KindStatistics,
			Schema: schema,
			Name:   name,
			Def:    rest + "\ntarget " + strconv.Itoa(target),
			Create: create,
			Drop:   []string{"DROP STATISTICS " + qname},
			Addr:   Addr{"pg_statistic_ext", oid, 0},
		}
		if t := m.relation(rel); t != nil {
			o.Table = t.Name
			o.Deps = []Dep{{ID: t.ID, Auto: true}}
		}
		o.Alter = func(from *Object) ([]string, bool) {
			fromRest, _, _ := strings.Cut(from.Def, "\ntarget ")
			if fromRest != rest {
				return nil, false
			}
			return []string{setTarget}, true
		}
		add = append(add, o)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: statistics: %w", err)
	}
	return m.addAll(add)
}
