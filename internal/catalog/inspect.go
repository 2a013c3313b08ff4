package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// inspectors are every kind's inspector, run in this order. A kind is
// supported when its inspector is here, its objects carry DDL and its
// Facts are in kinds; what no inspector claims is refused by Inspect,
// never dropped in silence.
func inspectors() []Inspector {
	return []Inspector{
		inspectSchemas,
		inspectExtensions,
		inspectEnums,
		inspectDomains,
		inspectComposites,
		inspectRanges,
		inspectSequences,
		inspectTables,
		inspectPartitions,
		inspectRoutines,
		inspectAggregates,
		inspectViews,
		inspectRules,
		inspectTriggers,
		inspectPolicies,
		inspectStatistics,
		// Attributes of the objects above, then comments and privileges
		// of every object: they look their object up in the model.
		inspectTableAttrs,
		inspectIdentities,
		inspectSerials,
		inspectViewDefaults,
		inspectTriggerStates,
		inspectComments,
		inspectOwners,
		inspectPrivileges,
		inspectDefaultPrivileges,
		// Last: it maps addresses no other object may claim.
		inspectExtensionMembers,
	}
}

// Inspect reads every object of the given schemas into a model, with the
// dependency graph between them. Anything in those schemas that no
// inspector claims is an error naming it.
func Inspect(ctx context.Context, q Querier, schemas []string, def string) (*Model, error) {
	m := NewModel(schemas, def)
	for _, in := range inspectors() {
		if err := in(ctx, q, m); err != nil {
			return nil, err
		}
	}
	if err := unclaimed(ctx, q, m); err != nil {
		return nil, err
	}
	if err := depends(ctx, q, m); err != nil {
		return nil, err
	}
	return m, nil
}

// inspectTables adds the tables of the managed schemas with their
// columns, indexes and constraints as Atlas objects: Atlas's table diff
// plans them, the model places them in the graph.
func inspectTables(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, c.relname, c.oid, c.relkind, coalesce(t.relname, ''), coalesce(a.attname, ''), coalesce(a.attnum, 0),
       CASE WHEN c.relkind IN ('i', 'I') THEN replace(pg_get_indexdef(c.oid), ' ON ONLY ', ' ON ') ELSE '' END,
       CASE WHEN c.relkind IN ('i', 'I') THEN quote_ident(n.nspname) || '.' || quote_ident(t.relname) ELSE '' END,
       quote_ident(c.relname), coalesce(c.reloptions, '{}'),
       c.relkind IN ('i', 'I') AND (c.reloptions IS NOT NULL OR c.reltablespace <> 0
                            OR pg_get_indexdef(c.oid) ~ ' COLLATE ' OR i.indnullsnotdistinct)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class t ON t.oid = i.indrelid
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
WHERE n.nspname = ANY($1)
  -- partitions and their indexes are inspectPartitions'; a partitioned
  -- table's indexes (relkind 'I') are its own
  AND (c.relkind IN ('r', 'p') AND NOT c.relispartition
       OR c.relkind IN ('i', 'I') AND t.relkind IN ('r', 'p') AND NOT t.relispartition)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2, 7`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: tables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			schema, name, kind, table, col string
			def, qualified, pgName         string
			oid                            uint32
			attnum                         int32
			own                            bool
			opts                           []string
		)
		if err := rows.Scan(&schema, &name, &oid, &kind, &table, &col, &attnum, &def, &qualified, &pgName, pqArrayOut(&opts), &own); err != nil {
			return fmt.Errorf("catalog: tables: %w", err)
		}
		index := kind == "i" || kind == "I" // "I": a partitioned table's index
		if index && own {
			// What Atlas's renderer would lose (storage parameters, a
			// tablespace, a COLLATE in a key, NULLS NOT DISTINCT): the
			// index is planned from here, with PostgreSQL's own
			// definition. A constraint's index is the constraint's.
			def = strings.Replace(def, " ON "+qualified+" ", " ON "+m.Qualify(schema, table)+" ", 1)
			def = strings.Replace(def, " INDEX "+pgName+" ON ", " INDEX "+QuoteIdent(name)+" ON ", 1)
			o := &Object{ID: ID(KindIndex, schema, name), Kind: KindIndex, Schema: schema, Name: name,
				Table: table, Def: def, Create: []string{def}, Drop: []string{"DROP INDEX " + m.Qualify(schema, name)},
				Addr: Addr{"pg_class", oid, 0}, Deps: []Dep{{ID: ID(KindTable, schema, table), Auto: true}}}
			m.indexOptions(o, opts)
			if err := m.addUnclaimed(o); err != nil {
				return err
			}
			continue
		}
		if index {
			// Constraint-backed indexes are added with their constraint.
			// Atlas plans the index; its definition lets the planner
			// see when it differs from the same index planned from
			// here only by storage parameters.
			def = strings.Replace(def, " ON "+qualified+" ", " ON "+m.Qualify(schema, table)+" ", 1)
			def = strings.Replace(def, " INDEX "+pgName+" ON ", " INDEX "+QuoteIdent(name)+" ON ", 1)
			o := &Object{ID: ID(KindIndex, schema, name), Kind: KindIndex, Schema: schema, Name: name,
				Table: table, Atlas: true, Addr: Addr{"pg_class", oid, 0}, Def: def}
			m.indexOptions(o, nil)
			if err := m.addUnclaimed(o); err != nil {
				return err
			}
			continue
		}
		tid := ID(KindTable, schema, name)
		if _, ok := m.Objects[tid]; !ok {
			if err := m.Add(&Object{ID: tid, Kind: KindTable, Schema: schema, Name: name, Atlas: true,
				Addr: Addr{"pg_class", oid, 0}}); err != nil {
				return err
			}
		}
		if col != "" {
			if err := m.Add(&Object{ID: ID(KindColumn, schema, name, col), Kind: KindColumn, Schema: schema,
				Name: col, Table: name, Atlas: true, Addr: Addr{"pg_class", oid, attnum},
				Deps: []Dep{{ID: tid, Auto: true}}}); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: tables: %w", err)
	}

	crows, err := q.QueryContext(ctx, `
SELECT n.nspname, t.relname, c.conname, c.oid, c.conindid, c.contype, c.condeferrable, c.convalidated, pg_get_constraintdef(c.oid)
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = ANY($1) AND t.relkind IN ('r', 'p') AND NOT t.relispartition
  AND c.conparentid = 0 -- a clone for a partition goes with the constraint it clones
ORDER BY 1, 2, 3`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: constraints: %w", err)
	}
	defer crows.Close()
	for crows.Next() {
		var (
			schema, table, name, typ, def string
			oid, index                    uint32
			deferrable, validated         bool
		)
		if err := crows.Scan(&schema, &table, &name, &oid, &index, &typ, &deferrable, &validated, &def); err != nil {
			return fmt.Errorf("catalog: constraints: %w", err)
		}
		tid := ID(KindTable, schema, table)
		if _, ok := m.Objects[tid]; !ok {
			continue // an extension's table
		}
		o := &Object{ID: ID(KindConstraint, schema, table, name), Kind: KindConstraint, Schema: schema, Name: name,
			Table: table, Atlas: true, Addr: Addr{"pg_constraint", oid, 0}, Deps: []Dep{{ID: tid, Auto: true}}}
		if strings.Contains("upfxc", typ) {
			// Keys, exclusions and checks carry their own DDL: Atlas's
			// renderer writes a DEFERRABLE one as a plain constraint,
			// and a NOT VALID one (a check or foreign key whose existing
			// rows are not checked yet) as a validated one,
			// so those are planned from here (Atlas false), and a
			// constraint that is Atlas's in one database and not in
			// the other is planned from here in both.
			alter := "ALTER TABLE " + m.Qualify(schema, table)
			o.Def = def
			o.Create = []string{alter + " ADD CONSTRAINT " + QuoteIdent(name) + " " + def}
			o.Drop = []string{alter + " DROP CONSTRAINT " + QuoteIdent(name)}
			// Atlas's renderer also writes every primary key
			// unnamed, so one not named as PostgreSQL names it
			// (<table>_pkey) is planned from here too.
			o.Atlas = !deferrable && validated && (typ != "p" || name == table+"_pkey")
		}
		if err := m.Add(o); err != nil {
			return err
		}
		if index != 0 && strings.Contains("pux", typ) {
			// The index behind a primary key, unique or exclusion
			// constraint is the constraint's: point its address there.
			// (A foreign key's conindid is the index it references,
			// another constraint's; on a self-reference, that of its
			// own table.)
			if id, ok := m.Lookup(Addr{"pg_class", index, 0}); ok {
				if idx := m.Objects[id]; idx.Table == table {
					delete(m.addrs, idx.Addr)
					delete(m.Objects, id)
					m.addrs[idx.Addr] = o.ID
				}
			}
		}
	}
	return crows.Err()
}

// addAll adds the objects an inspector read, once its rows are all read
// without error, so that a failed read adds none of them.
func (m *Model) addAll(objs []*Object) error {
	for _, o := range objs {
		if err := m.Add(o); err != nil {
			return err
		}
	}
	return nil
}

// addUnclaimed is Add for an object whose address an earlier, more
// specific object may have claimed already (an index behind a
// constraint): it adds nothing then.
func (m *Model) addUnclaimed(o *Object) error {
	if _, ok := m.addrs[o.Addr]; ok {
		return nil
	}
	return m.Add(o)
}

// schemaScoped are the catalogs whose objects have just a name and a
// schema, listed by unclaimed alike: catalog, kind, name column, schema
// column.
var schemaScoped = [][4]string{
	{"pg_statistic_ext", "statistics", "stxname", "stxnamespace"},
	{"pg_operator", "operator", "oprname", "oprnamespace"},
	{"pg_opclass", "operator class", "opcname", "opcnamespace"},
	{"pg_opfamily", "operator family", "opfname", "opfnamespace"},
	{"pg_collation", "collation", "collname", "collnamespace"},
	{"pg_conversion", "conversion", "conname", "connamespace"},
	{"pg_ts_config", "text search configuration", "cfgname", "cfgnamespace"},
	{"pg_ts_dict", "text search dictionary", "dictname", "dictnamespace"},
}

// namedInSchema is unclaimed's query part for schemaScoped.
func namedInSchema() string {
	var b strings.Builder
	for _, c := range schemaScoped {
		fmt.Fprintf(&b, "  UNION ALL\n  SELECT '%[1]s', o.oid, '%[2]s', n.nspname || '.' || o.%[3]s\n  FROM %[1]s o JOIN pg_namespace n ON n.oid = o.%[4]s WHERE n.nspname = ANY($1)\n",
			c[0], c[1], c[2], c[3])
	}
	return b.String()
}

// unclaimedQuery lists every object of the managed schemas ($1) and
// every database-wide object a migration could create, with its catalog,
// oid, kind and name; objects of extensions are left out.
var unclaimedQuery = `
WITH ext AS (SELECT classid, objid FROM pg_depend WHERE deptype = 'e'),
objs(cat, oid, kind, name) AS (
  SELECT 'pg_class', c.oid,
         CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
           WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'composite type' WHEN 'i' THEN 'index'
           WHEN 'I' THEN 'index' ELSE 'relation' END,
         n.nspname || '.' || c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1) AND c.relkind <> 't'
    -- sequences of identity and serial columns belong to their column
    AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
             AND d.objid = c.oid AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0))
  UNION ALL
  SELECT 'pg_proc', p.oid,
         CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' WHEN 'p' THEN 'procedure' ELSE 'function' END,
         n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY($1)
  UNION ALL
  SELECT 'pg_type', t.oid,
         CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type'
           WHEN 'm' THEN 'multirange type' ELSE 'type' END,
         n.nspname || '.' || t.typname
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname = ANY($1) AND t.typtype IN ('b', 'd', 'e', 'r', 'p')
    AND NOT (t.typtype = 'b' AND t.typelem <> 0 AND t.typsubscript = 'array_subscript_handler'::regproc)
  UNION ALL
  SELECT 'pg_trigger', t.oid, 'trigger', n.nspname || '.' || c.relname || '.' || t.tgname
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1) AND NOT t.tgisinternal
  UNION ALL
  SELECT 'pg_policy', p.oid, 'policy', n.nspname || '.' || c.relname || '.' || p.polname
  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1)
  UNION ALL
  SELECT 'pg_rewrite', r.oid, 'rule', n.nspname || '.' || c.relname || '.' || r.rulename
  FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1) AND r.rulename <> '_RETURN'
` + namedInSchema() + `  UNION ALL
  SELECT 'pg_namespace', n.oid, 'schema', n.nspname FROM pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'atlas_schema_revisions')
    AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
    -- public is in every new database: outside the managed schemas
    -- (a dev URL scoped to another) it counts only when it holds objects.
    AND (n.nspname <> 'public' OR EXISTS (SELECT 1 FROM pg_depend d
      WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = n.oid))
  UNION ALL
  SELECT 'pg_extension', e.oid, 'extension', e.extname FROM pg_extension e WHERE e.extname <> 'plpgsql'
  UNION ALL
  SELECT 'pg_event_trigger', e.oid, 'event trigger', e.evtname FROM pg_event_trigger e
  UNION ALL
  SELECT 'pg_cast', c.oid, 'cast', format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL)
  FROM pg_cast c WHERE c.oid >= 16384
  UNION ALL
  SELECT 'pg_publication', p.oid, 'publication', p.pubname FROM pg_publication p
  UNION ALL
  SELECT 'pg_foreign_server', s.oid, 'foreign server', s.srvname FROM pg_foreign_server s
  UNION ALL
  SELECT 'pg_default_acl', d.oid, 'default privileges',
         'for ' || pg_get_userbyid(d.defaclrole) || coalesce(' in schema ' || n.nspname, '') || ' on ' || d.defaclobjtype::text
  FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
  WHERE d.defaclnamespace = 0 OR n.nspname = ANY($1)
)
SELECT o.cat, o.oid, o.kind, o.name FROM objs o
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = o.cat::regclass AND ext.objid = o.oid)
ORDER BY 3, 4`

// unclaimed fails naming every object of the managed schemas (and every
// database-wide object a migration could create) that no inspector put
// in the model: a diff that cannot see an object must not pretend it
// migrated it.
func unclaimed(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, unclaimedQuery, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: list objects: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var (
			cat, kind, name string
			oid             uint32
		)
		if err := rows.Scan(&cat, &oid, &kind, &name); err != nil {
			return fmt.Errorf("catalog: list objects: %w", err)
		}
		if _, ok := m.addrs[Addr{cat, oid, 0}]; ok {
			continue
		}
		if cat == "pg_namespace" && m.Managed(name) {
			continue // a managed schema that no schema inspector claims yet
		}
		names = append(names, kind+" "+name)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: list objects: %w", err)
	}
	if len(names) > 0 {
		return &UnsupportedError{Objects: names}
	}
	return nil
}

// UnsupportedError names objects that the diff cannot migrate.
type UnsupportedError struct {
	Objects []string
	// Directory is set by the caller when the objects are in the state
	// the migration directory builds (a hand-written file made them),
	// not in the desired state: the way out differs.
	Directory bool
}

func (e *UnsupportedError) Error() string {
	msg := "catalog: objects this tool does not diff: " + strings.Join(e.Objects, ", ")
	if h := e.hint(); h != "" {
		msg += "\n  " + h
	}
	return msg
}

// depends fills every object's Deps from pg_depend, with pg_rewrite
// rows (a view's query) standing for their view and column defaults for
// their column. Edges to objects outside the model (pg_catalog, other
// schemas' system objects) are left out: they exist in every database.
func depends(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
WITH d AS (
  SELECT d.classid::regclass::text AS cat, d.objid, d.objsubid, d.refclassid::regclass::text AS refcat,
         d.refobjid, d.refobjsubid, d.deptype
  FROM pg_depend d
  WHERE d.deptype IN ('n', 'a') AND d.objid >= 16384 AND d.refobjid >= 16384
    -- A sequence's OWNED BY column: the sequence owner object carries
    -- that edge, as the column's default needs the sequence itself.
    AND NOT (d.deptype = 'a' AND d.classid = 'pg_class'::regclass AND d.refobjsubid > 0
             AND (SELECT c.relkind FROM pg_class c WHERE c.oid = d.objid) = 'S')
)
SELECT CASE WHEN d.cat = 'pg_rewrite' AND r.rulename = '_RETURN' THEN 'pg_class'
            WHEN d.cat = 'pg_attrdef' THEN 'pg_class' ELSE d.cat END,
       CASE WHEN d.cat = 'pg_rewrite' AND r.rulename = '_RETURN' THEN r.ev_class
            WHEN d.cat = 'pg_attrdef' THEN ad.adrelid ELSE d.objid END,
       CASE WHEN d.cat = 'pg_attrdef' THEN ad.adnum ELSE d.objsubid END,
       CASE WHEN d.refcat = 'pg_type' AND rt.typrelid <> 0 AND rc.relkind <> 'c' THEN 'pg_class' ELSE d.refcat END,
       CASE WHEN d.refcat = 'pg_type' AND rt.typrelid <> 0 AND rc.relkind <> 'c' THEN rt.typrelid
            WHEN d.refcat = 'pg_type' AND rt.typelem <> 0 AND rt.typsubscript = 'array_subscript_handler'::regproc THEN rt.typelem
            ELSE d.refobjid END,
       d.refobjsubid, d.deptype
FROM d
LEFT JOIN pg_rewrite r ON d.cat = 'pg_rewrite' AND r.oid = d.objid
LEFT JOIN pg_attrdef ad ON d.cat = 'pg_attrdef' AND ad.oid = d.objid
LEFT JOIN pg_type rt ON d.refcat = 'pg_type' AND rt.oid = d.refobjid
LEFT JOIN pg_class rc ON rc.oid = rt.typrelid`)
	if err != nil {
		return fmt.Errorf("catalog: dependencies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			from, to Addr
			deptype  string
		)
		if err := rows.Scan(&from.Catalog, &from.OID, &from.Sub, &to.Catalog, &to.OID, &to.Sub, &deptype); err != nil {
			return fmt.Errorf("catalog: dependencies: %w", err)
		}
		fid, ok := m.resolve(from)
		if !ok {
			continue
		}
		tid, ok := m.resolve(to)
		if !ok || tid == fid {
			continue
		}
		o := m.Objects[fid]
		if !hasDep(o.Deps, tid) {
			o.Deps = append(o.Deps, Dep{ID: tid, Auto: deptype == "a"})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: dependencies: %w", err)
	}
	for _, o := range m.Objects {
		sort.Slice(o.Deps, func(i, j int) bool { return o.Deps[i].ID.String() < o.Deps[j].ID.String() })
	}
	return nil
}

// resolve maps a catalog address to a model object: a column that is
// not in the model stands for its relation.
func (m *Model) resolve(a Addr) (ObjectID, bool) {
	if id, ok := m.addrs[a]; ok {
		return id, true
	}
	if a.Sub != 0 {
		id, ok := m.addrs[Addr{a.Catalog, a.OID, 0}]
		return id, ok
	}
	return ObjectID{}, false
}

func hasDep(deps []Dep, id ObjectID) bool {
	for _, d := range deps {
		if d.ID == id {
			return true
		}
	}
	return false
}
