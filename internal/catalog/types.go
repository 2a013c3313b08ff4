package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// extOwned filters out rows an extension owns; %s is the catalog and %s
// the OID column.
const extOwned = `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '%s'::regclass AND d.objid = %s AND d.deptype = 'e')`

// inspectEnums adds the enum types of the managed schemas. Def is the
// label list in sort order; changes that PostgreSQL can make in place
// (added labels, one renamed label) are altered, every other one is
// refused (see enumAlter).
func inspectEnums(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, t.typname, t.oid,
       coalesce(array_agg(e.enumlabel ORDER BY e.enumsortorder) FILTER (WHERE e.enumlabel IS NOT NULL), '{}')
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_enum e ON e.enumtypid = t.oid
WHERE n.nspname = ANY($1) AND t.typtype = 'e' AND `+fmt.Sprintf(extOwned, "pg_type", "t.oid")+`
GROUP BY 1, 2, 3
ORDER BY 1, 2`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: enum types: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			schema, name string
			oid          uint32
			labels       []string
		)
		if err := rows.Scan(&schema, &name, &oid, pqArrayOut(&labels)); err != nil {
			return fmt.Errorf("catalog: enum types: %w", err)
		}
		qname := m.Qualify(schema, name)
		o := &Object{
			ID:     ID(KindEnum, schema, name),
			Kind:   KindEnum,
			Schema: schema,
			Name:   name,
			Def:    quoteLabels(labels),
			Create: []string{"CREATE TYPE " + qname + " AS ENUM (" + quoteLabels(labels) + ")"},
			Drop:   []string{"DROP TYPE " + qname},
			Addr:   Addr{"pg_type", oid, 0},
			enum:   labels,
		}
		o.Alter = func(from *Object) ([]string, bool) {
			stmts, err := enumAlter(qname, from.enum, labels)
			return stmts, err == nil
		}
		o.Refuse = func(from *Object) error {
			_, err := enumAlter(qname, from.enum, labels)
			return err
		}
		if err := m.Add(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// typeUsers maps type OIDs to the table columns of that type (or of an
// array of it), as "schema.table.column".
func typeUsers(ctx context.Context, q Querier) (map[uint32][]string, error) {
	rows, err := q.QueryContext(ctx, `
SELECT coalesce(nullif(et.oid, 0), t.oid), n.nspname || '.' || c.relname || '.' || a.attname
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typsubscript = 'array_subscript_handler'::regproc
WHERE c.relkind IN ('r', 'p', 'm') AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid >= 16384
ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("catalog: type users: %w", err)
	}
	defer rows.Close()
	users := map[uint32][]string{}
	for rows.Next() {
		var (
			oid uint32
			col string
		)
		if err := rows.Scan(&oid, &col); err != nil {
			return nil, fmt.Errorf("catalog: type users: %w", err)
		}
		users[oid] = append(users[oid], col)
	}
	return users, rows.Err()
}

// refuseRecreate is the Refuse of a type whose change Alter cannot make:
// re-creating it would drop the columns of that type.
func refuseRecreate(o *Object) func(from *Object) error {
	return func(from *Object) error {
		if len(from.users) == 0 || o.Alter == nil {
			return nil
		}
		if _, ok := o.Alter(from); ok {
			return nil
		}
		return fmt.Errorf("catalog: %s %s: PostgreSQL cannot make this change in place, and re-creating it would drop the columns %s; "+
			"nothing written. Migrate those columns by hand in a migration of its own (migrate new <name>: create the new "+
			"type under another name, ALTER TABLE … ALTER COLUMN … TYPE … USING …, drop the old type, rename the new one; "+
			"then migrate hash), and run migrate diff again", o.Kind, o.Name, strings.Join(from.users, ", "))
	}
}

func quoteLabels(labels []string) string {
	q := make([]string, len(labels))
	for i, l := range labels {
		q[i] = QuoteLiteral(l)
	}
	return strings.Join(q, ", ")
}

// enumAlter turns the labels from into to with ALTER TYPE. PostgreSQL
// can add a label anywhere and rename one, but never remove or reorder
// labels: rows may hold them, and dropping the type would drop every
// column of it. So:
//   - same count and exactly one position differs: RENAME VALUE (two or
//     more differing positions are ambiguous between renames, removals
//     and additions, and are refused);
//   - from is a subsequence of to: ADD VALUE for each new label, BEFORE
//     the next old label, or appended when no old label follows;
//   - anything else is an error saying what cannot be done.
func enumAlter(name string, from, to []string) ([]string, error) {
	if len(from) == len(to) {
		diff := -1
		for i := range from {
			if from[i] != to[i] {
				if diff >= 0 {
					diff = -2
					break
				}
				diff = i
			}
		}
		switch {
		case diff == -1:
			return nil, nil
		case diff >= 0:
			return []string{"ALTER TYPE " + name + " RENAME VALUE " + QuoteLiteral(from[diff]) + " TO " + QuoteLiteral(to[diff])}, nil
		}
	}
	// Is from a subsequence of to?
	j := 0
	for _, l := range to {
		if j < len(from) && from[j] == l {
			j++
		}
	}
	if j < len(from) {
		return nil, fmt.Errorf("catalog: enum type %s: PostgreSQL cannot remove or reorder enum values in place (from (%s) to (%s)); "+
			"nothing written. Add values only, or rename exactly one per migration, or migrate the columns to a new type by "+
			"hand in a migration of its own (migrate new <name>, write the SQL, then migrate hash)",
			name, quoteLabels(from), quoteLabels(to))
	}
	old := map[string]bool{}
	for _, l := range from {
		old[l] = true
	}
	var stmts []string
	for i, l := range to {
		if old[l] {
			continue
		}
		next := ""
		for _, k := range to[i+1:] {
			if old[k] {
				next = k
				break
			}
		}
		s := "ALTER TYPE " + name + " ADD VALUE " + QuoteLiteral(l)
		if next != "" {
			s += " BEFORE " + QuoteLiteral(next)
		}
		stmts = append(stmts, s)
	}
	return stmts, nil
}

// domain is what a domain's Alter compares.
type domain struct {
	base, collation, def string
	hasDefault, notNull  bool
	checks               map[string]check
}

type check struct {
	expr  string // pg_get_constraintdef without " NOT VALID"
	valid bool
}

// inspectDomains adds the domains of the managed schemas with their
// defaults, NOT NULL and named CHECK constraints. A new base type or
// collation re-creates the domain; the rest is ALTER DOMAIN.
func inspectDomains(ctx context.Context, q Querier, m *Model) error {
	crows, err := q.QueryContext(ctx, `
SELECT c.contypid, c.oid, c.conname, pg_get_constraintdef(c.oid), c.convalidated
FROM pg_constraint c
JOIN pg_type t ON t.oid = c.contypid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = ANY($1) AND c.contype = 'c'
ORDER BY 1, 3`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: domain constraints: %w", err)
	}
	defer crows.Close()
	checks := map[uint32]map[string]check{}
	conOIDs := map[uint32][]uint32{}
	for crows.Next() {
		var (
			typ, oid  uint32
			name, def string
			valid     bool
		)
		if err := crows.Scan(&typ, &oid, &name, &def, &valid); err != nil {
			return fmt.Errorf("catalog: domain constraints: %w", err)
		}
		if checks[typ] == nil {
			checks[typ] = map[string]check{}
		}
		checks[typ][name] = check{expr: strings.TrimSuffix(def, " NOT VALID"), valid: valid}
		conOIDs[typ] = append(conOIDs[typ], oid)
	}
	if err := crows.Err(); err != nil {
		return fmt.Errorf("catalog: domain constraints: %w", err)
	}

	users, err := typeUsers(ctx, q)
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, t.typname, t.oid, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
       t.typdefault IS NOT NULL, coalesce(t.typdefault, ''),
       coalesce((SELECT cn.nspname FROM pg_collation c JOIN pg_namespace cn ON cn.oid = c.collnamespace
                 WHERE c.oid = t.typcollation AND t.typcollation <> bt.typcollation), ''),
       coalesce((SELECT c.collname FROM pg_collation c
                 WHERE c.oid = t.typcollation AND t.typcollation <> bt.typcollation), '')
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_type bt ON bt.oid = t.typbasetype
WHERE n.nspname = ANY($1) AND t.typtype = 'd' AND `+fmt.Sprintf(extOwned, "pg_type", "t.oid")+`
ORDER BY 1, 2`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: domains: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			schema, name, collSchema, collName string
			oid                                uint32
			d                                  domain
		)
		if err := rows.Scan(&schema, &name, &oid, &d.base, &d.notNull, &d.hasDefault, &d.def, &collSchema, &collName); err != nil {
			return fmt.Errorf("catalog: domains: %w", err)
		}
		if collName != "" {
			d.collation = QuoteIdent(collName)
			if collSchema != "pg_catalog" {
				d.collation = m.Qualify(collSchema, collName)
			}
		}
		d.checks = checks[oid]
		qname := m.Qualify(schema, name)
		o := &Object{
			ID:     ID(KindDomain, schema, name),
			Kind:   KindDomain,
			Schema: schema,
			Name:   name,
			Def:    d.compared(),
			Create: d.create(qname),
			Drop:   []string{"DROP DOMAIN " + qname},
			Addr:   Addr{"pg_type", oid, 0},
			dom:    &d,
		}
		dd := d
		o.Alter = func(from *Object) ([]string, bool) { return dd.alter(qname, from.dom) }
		o.users, o.Refuse = users[oid], refuseRecreate(o)
		if err := m.Add(o); err != nil {
			return err
		}
		// A CHECK calling a function makes the domain need it.
		for _, c := range conOIDs[oid] {
			m.alias(Addr{"pg_constraint", c, 0}, o.ID)
		}
	}
	return rows.Err()
}

func (d *domain) names() []string {
	names := make([]string, 0, len(d.checks))
	for n := range d.checks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (d *domain) compared() string {
	lines := []string{"base " + d.base, "collate " + d.collation, fmt.Sprintf("not null %t", d.notNull)}
	if d.hasDefault {
		lines = append(lines, "default "+d.def)
	}
	for _, n := range d.names() {
		c := d.checks[n]
		lines = append(lines, fmt.Sprintf("constraint %s %s valid %t", QuoteIdent(n), c.expr, c.valid))
	}
	return strings.Join(lines, "\n")
}

func (d *domain) create(name string) []string {
	s := "CREATE DOMAIN " + name + " AS " + d.base
	if d.collation != "" {
		s += " COLLATE " + d.collation
	}
	if d.hasDefault {
		s += " DEFAULT " + d.def
	}
	if d.notNull {
		s += " NOT NULL"
	}
	var later []string
	for _, n := range d.names() {
		c := d.checks[n]
		if !c.valid {
			// CREATE DOMAIN validates every constraint it is given.
			later = append(later, "ALTER DOMAIN "+name+" ADD CONSTRAINT "+QuoteIdent(n)+" "+c.expr+" NOT VALID")
			continue
		}
		s += " CONSTRAINT " + QuoteIdent(n) + " " + c.expr
	}
	return append([]string{s}, later...)
}

func (d *domain) alter(name string, from *domain) ([]string, bool) {
	if from == nil || from.base != d.base || from.collation != d.collation {
		return nil, false
	}
	pre := "ALTER DOMAIN " + name + " "
	var drops, sets, adds []string
	for _, n := range from.names() {
		fc := from.checks[n]
		tc, ok := d.checks[n]
		switch {
		case ok && tc == fc:
		case ok && tc.expr == fc.expr && tc.valid:
			adds = append(adds, pre+"VALIDATE CONSTRAINT "+QuoteIdent(n))
		default:
			drops = append(drops, pre+"DROP CONSTRAINT "+QuoteIdent(n))
		}
	}
	switch {
	case d.hasDefault && (!from.hasDefault || from.def != d.def):
		sets = append(sets, pre+"SET DEFAULT "+d.def)
	case !d.hasDefault && from.hasDefault:
		sets = append(sets, pre+"DROP DEFAULT")
	}
	switch {
	case d.notNull && !from.notNull:
		sets = append(sets, pre+"SET NOT NULL")
	case !d.notNull && from.notNull:
		sets = append(sets, pre+"DROP NOT NULL")
	}
	for _, n := range d.names() {
		tc := d.checks[n]
		fc, ok := from.checks[n]
		if ok && (fc == tc || fc.expr == tc.expr && tc.valid) {
			continue
		}
		s := pre + "ADD CONSTRAINT " + QuoteIdent(n) + " " + tc.expr
		if !tc.valid {
			s += " NOT VALID"
		}
		adds = append(adds, s)
	}
	return append(append(drops, sets...), adds...), true
}

// column is one column of a view or attribute of a composite type.
type column struct {
	name, typ, collation string
}

func (c column) String() string {
	s := QuoteIdent(c.name) + " " + c.typ
	if c.collation != "" {
		s += " COLLATE " + c.collation
	}
	return s
}

// relColumns reads the columns of the relations of the given kinds in
// the managed schemas, by relation OID, with the collation written only
// when it is not the type's default.
func relColumns(ctx context.Context, q Querier, m *Model, relkinds string) (map[uint32][]column, error) {
	rows, err := q.QueryContext(ctx, `
SELECT c.oid, a.attname, format_type(a.atttypid, a.atttypmod),
       coalesce(cn.nspname, ''), coalesce(co.collname, '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type at ON at.oid = a.atttypid
LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> at.typcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
WHERE n.nspname = ANY($1) AND c.relkind = ANY($2)
ORDER BY 1, a.attnum`, pqArray(m.Schemas), pqArray(strings.Split(relkinds, "")))
	if err != nil {
		return nil, fmt.Errorf("catalog: columns: %w", err)
	}
	defer rows.Close()
	cols := map[uint32][]column{}
	for rows.Next() {
		var (
			oid                  uint32
			c                    column
			collSchema, collName string
		)
		if err := rows.Scan(&oid, &c.name, &c.typ, &collSchema, &collName); err != nil {
			return nil, fmt.Errorf("catalog: columns: %w", err)
		}
		if collName != "" {
			c.collation = QuoteIdent(collName)
			if collSchema != "pg_catalog" {
				c.collation = m.Qualify(collSchema, collName)
			}
		}
		cols[oid] = append(cols[oid], c)
	}
	return cols, rows.Err()
}

// inspectComposites adds the composite types (CREATE TYPE … AS (…)) of
// the managed schemas. Attributes are added, dropped and retyped in
// place as long as the remaining ones keep their order.
func inspectComposites(ctx context.Context, q Querier, m *Model) error {
	cols, err := relColumns(ctx, q, m, "c")
	if err != nil {
		return err
	}
	users, err := typeUsers(ctx, q)
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, c.relname, c.oid, c.reltype
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind = 'c' AND `+fmt.Sprintf(extOwned, "pg_type", "c.reltype")+`
  AND `+fmt.Sprintf(extOwned, "pg_class", "c.oid")+`
ORDER BY 1, 2`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: composite types: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			schema, name string
			oid, typ     uint32
		)
		if err := rows.Scan(&schema, &name, &oid, &typ); err != nil {
			return fmt.Errorf("catalog: composite types: %w", err)
		}
		qname := m.Qualify(schema, name)
		attrs := cols[oid]
		def := make([]string, len(attrs))
		for i, a := range attrs {
			def[i] = a.String()
		}
		o := &Object{
			ID:     ID(KindComposite, schema, name),
			Kind:   KindComposite,
			Schema: schema,
			Name:   name,
			Def:    strings.Join(def, ",\n"),
			Create: []string{"CREATE TYPE " + qname + " AS (" + strings.Join(def, ", ") + ")"},
			Drop:   []string{"DROP TYPE " + qname},
			Addr:   Addr{"pg_class", oid, 0},
			cols:   attrs,
		}
		o.Alter = func(from *Object) ([]string, bool) {
			// ALTER ATTRIBUTE … TYPE fails while a table column is of
			// the type (adding and dropping attributes do not).
			stmts, ok := compositeAlter(qname, from.cols, attrs)
			if ok && len(from.users) > 0 && strings.Contains(strings.Join(stmts, "\n"), " ALTER ATTRIBUTE ") {
				return nil, false
			}
			return stmts, ok
		}
		o.users, o.Refuse = users[typ], refuseRecreate(o)
		if err := m.Add(o); err != nil {
			return err
		}
		// Columns of this type point at its pg_type row.
		m.alias(Addr{"pg_type", typ, 0}, o.ID)
	}
	return rows.Err()
}

// compositeAlter drops the attributes to lacks, retypes the ones whose
// type or collation changed and appends the new ones; ok is false when
// the kept attributes would not end up in to's order.
func compositeAlter(name string, from, to []column) ([]string, bool) {
	toByName := map[string]column{}
	for _, c := range to {
		toByName[c.name] = c
	}
	fromNames := map[string]bool{}
	var kept []string
	var drops, alters, adds []string
	pre := "ALTER TYPE " + name + " "
	for _, c := range from {
		fromNames[c.name] = true
		t, ok := toByName[c.name]
		if !ok {
			drops = append(drops, pre+"DROP ATTRIBUTE "+QuoteIdent(c.name))
			continue
		}
		kept = append(kept, c.name)
		if t != c {
			s := pre + "ALTER ATTRIBUTE " + QuoteIdent(c.name) + " TYPE " + t.typ
			if t.collation != "" {
				s += " COLLATE " + t.collation
			}
			alters = append(alters, s)
		}
	}
	// to must be the kept attributes in their order, then the new ones.
	for i, c := range to {
		if i < len(kept) {
			if c.name != kept[i] {
				return nil, false
			}
			continue
		}
		if fromNames[c.name] {
			return nil, false
		}
		adds = append(adds, pre+"ADD ATTRIBUTE "+c.String())
	}
	return append(append(drops, alters...), adds...), true
}

// inspectRanges adds the range types of the managed schemas, with their
// multirange types (which PostgreSQL creates with them). A changed range
// type is re-created.
func inspectRanges(ctx context.Context, q Querier, m *Model) error {
	users, err := typeUsers(ctx, q)
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, t.typname, t.oid, r.rngmultitypid, format_type(r.rngsubtype, NULL),
       CASE WHEN oc.opcdefault THEN '' ELSE quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) END,
       CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation
            THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) ELSE '' END,
       CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::regproc::text ELSE '' END,
       CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::regproc::text ELSE '' END,
       mn.nspname, mt.typname
FROM pg_range r
JOIN pg_type t ON t.oid = r.rngtypid
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_type st ON st.oid = r.rngsubtype
JOIN pg_opclass oc ON oc.oid = r.rngsubopc
JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
JOIN pg_type mt ON mt.oid = r.rngmultitypid
JOIN pg_namespace mn ON mn.oid = mt.typnamespace
LEFT JOIN pg_collation co ON co.oid = r.rngcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
WHERE n.nspname = ANY($1) AND `+fmt.Sprintf(extOwned, "pg_type", "t.oid")+`
ORDER BY 1, 2`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: range types: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			schema, name, sub, opc, coll, canon, diff, mschema, mname string
			oid, multi                                                uint32
		)
		if err := rows.Scan(&schema, &name, &oid, &multi, &sub, &opc, &coll, &canon, &diff, &mschema, &mname); err != nil {
			return fmt.Errorf("catalog: range types: %w", err)
		}
		qname := m.Qualify(schema, name)
		opts := []string{"SUBTYPE = " + sub}
		if opc != "" {
			opts = append(opts, "SUBTYPE_OPCLASS = "+opc)
		}
		if coll != "" {
			opts = append(opts, "COLLATION = "+coll)
		}
		if canon != "" {
			opts = append(opts, "CANONICAL = "+canon)
		}
		if diff != "" {
			opts = append(opts, "SUBTYPE_DIFF = "+diff)
		}
		opts = append(opts, "MULTIRANGE_TYPE_NAME = "+m.Qualify(mschema, mname))
		o := &Object{
			ID:     ID(KindRange, schema, name),
			Kind:   KindRange,
			Schema: schema,
			Name:   name,
			Def:    strings.Join(opts, ",\n"),
			Create: []string{"CREATE TYPE " + qname + " AS RANGE (" + strings.Join(opts, ", ") + ")"},
			Drop:   []string{"DROP TYPE " + qname},
			Addr:   Addr{"pg_type", oid, 0},
			Alter:  func(*Object) ([]string, bool) { return nil, false },
			users:  append(users[oid], users[multi]...),
		}
		o.Refuse = refuseRecreate(o)
		if err := m.Add(o); err != nil {
			return err
		}
		m.alias(Addr{"pg_type", multi, 0}, o.ID)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: range types: %w", err)
	}
	return typeInternals(ctx, q, m)
}

// typeInternals points the functions and casts PostgreSQL creates with
// a type (a range type's constructors, its cast to the multirange type)
// at the type: they are created and dropped with it and are no objects
// of their own.
func typeInternals(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT d.classid::regclass::text, d.objid, d.refobjid FROM pg_depend d
WHERE d.classid IN ('pg_proc'::regclass, 'pg_cast'::regclass) AND d.refclassid = 'pg_type'::regclass AND d.deptype = 'i'`)
	if err != nil {
		return fmt.Errorf("catalog: type functions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			cat      string
			oid, typ uint32
		)
		if err := rows.Scan(&cat, &oid, &typ); err != nil {
			return fmt.Errorf("catalog: type functions: %w", err)
		}
		if id, ok := m.Lookup(Addr{"pg_type", typ, 0}); ok {
			m.alias(Addr{cat, oid, 0}, id)
		}
	}
	return rows.Err()
}
