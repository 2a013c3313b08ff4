package fingerprint

import "strings"

// acl renders an ACL as sorted "grantee privilege" items: a NULL ACL as
// the kind's default (defaults NULL: none) (so GRANT then REVOKE back to the default is no
// difference), the owner's own items left out (their rights are implicit;
// the owner is an attribute of its own), and a grantor named only when it is
// not the owner.
func acl(col, owner, defaults string) string {
	r := strings.NewReplacer("ACL", col, "OWNER", owner, "DEFAULTS", defaults)
	return r.Replace(`(SELECT coalesce(string_agg(x.item, ', ' ORDER BY x.item), '')
  FROM (SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
          || ' ' || a.privilege_type
          || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
          || CASE WHEN a.grantor <> OWNER THEN ' GRANTED BY ' || quote_ident(pg_get_userbyid(a.grantor)) ELSE '' END AS item
        FROM aclexplode(CASE WHEN cardinality(coalesce(ACL, DEFAULTS)) > 0 THEN coalesce(ACL, DEFAULTS) END) a
        WHERE a.grantee <> OWNER) x)`)
}

// owner renders an object's owner, "" when it is the connected role:
// the role that built the state owns what the desired state gives no
// owner, and such an owner is not compared (a migration leaves it to
// whoever applies it).
func owner(col string) string {
	return `coalesce(nullif(pg_get_userbyid(` + col + `)::text, current_user::text), '')`
}

// notExt filters out objects an extension owns (their extension's
// version is compared instead).
func notExt(catalog, oid string) string {
	return `NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = '` + catalog + `'::regclass AND xd.objid = ` + oid + ` AND xd.deptype = 'e')`
}

// sorted renders a text array (options, settings) in a stable order,
// with only the items o matching where, if given.
func sorted(arr string, where ...string) string {
	w := ""
	if len(where) > 0 {
		w = " WHERE " + strings.Join(where, " AND ")
	}
	return `coalesce((SELECT string_agg(o, ', ' ORDER BY o) FROM unnest(` + arr + `) o` + w + `), '')`
}

// relKind is the kind of relation alias, as keys name it.
func relKind(alias string) string {
	return strings.ReplaceAll(`CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
    WHEN 'f' THEN 'foreign table' ELSE 'table' END`, "c.", alias+".")
}

// relParent is the parent key of an object of relation alias in schema
// alias ns.
func relParent(alias, ns string) string {
	return relKind(alias) + " || ' ' || " + ns + ".nspname || '.' || " + alias + ".relname"
}

// queries reads every kind, one catalog query each. $1 is the managed
// schemas as a text array.
func queries() []query {
	const inSchemas = `n.nspname = ANY($1::text[])`
	return []query{
		{
			name:  "schemas",
			attrs: []string{"acl", "comment", "owner"},
			sql: `SELECT 'schema', n.nspname,
  ` + acl("n.nspacl", "n.nspowner", "acldefault('n', n.nspowner)") + `,
  coalesce(obj_description(n.oid, 'pg_namespace'), ''),
  ` + owner("n.nspowner") + `
FROM pg_namespace n WHERE ` + inSchemas,
		},
		{
			name: "relations",
			attrs: []string{"relkind", "persistence", "replica_identity", "row_security", "force_row_security",
				"options", "acl", "partition_key", "partition_bound", "inherits", "access_method", "tablespace",
				"of_type", "definition", "populated", "foreign", "comment", "owner"},
			sql: `SELECT ` + relKind("c") + `,
  n.nspname || '.' || c.relname,
  c.relkind::text, c.relpersistence::text,
  CASE WHEN c.relreplident = 'i' THEN coalesce((SELECT 'index ' || ic.relname FROM pg_index ri JOIN pg_class ic ON ic.oid = ri.indexrelid
                                                 WHERE ri.indrelid = c.oid AND ri.indisreplident), 'i')
       ELSE c.relreplident::text END, c.relrowsecurity::text, c.relforcerowsecurity::text,
  ` + sorted("c.reloptions") + `,
  ` + acl("c.relacl", "c.relowner", "acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner)") + `,
  coalesce(pg_get_partkeydef(c.oid), ''),
  coalesce(pg_get_expr(c.relpartbound, c.oid), ''),
  coalesce((SELECT string_agg(pn.nspname || '.' || pc.relname, ', ' ORDER BY i.inhseqno)
            FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
            WHERE i.inhrelid = c.oid), ''),
  coalesce(am.amname, ''),
  coalesce(ts.spcname, ''),
  CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) ELSE '' END,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) ELSE '' END,
  CASE WHEN c.relkind = 'm' THEN c.relispopulated::text ELSE '' END,
  coalesce((SELECT s.srvname || ' ' || ` + sorted("ft.ftoptions") + `
            FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = c.oid), ''),
  coalesce(obj_description(c.oid, 'pg_class'), ''),
  ` + owner("c.relowner") + `
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_am am ON am.oid = c.relam
LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
WHERE ` + inSchemas + ` AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ` + notExt("pg_class", "c.oid"),
		},
		{
			// Identity and serial sequences are here too: their options
			// are the column's identity options.
			name:  "sequences",
			attrs: []string{"type", "start", "increment", "min", "max", "cache", "cycle", "owned_by", "parent"},
			sql: `SELECT 'sequence', n.nspname || '.' || c.relname,
  format_type(s.seqtypid, NULL), s.seqstart::text, s.seqincrement::text, s.seqmin::text, s.seqmax::text,
  s.seqcache::text, s.seqcycle::text,
  coalesce((SELECT tn.nspname || '.' || t.relname || '.' || a.attname || CASE d.deptype WHEN 'i' THEN ' (identity)' ELSE '' END
            FROM pg_depend d
            JOIN pg_class t ON t.oid = d.refobjid
            JOIN pg_namespace tn ON tn.oid = t.relnamespace
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
              AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
            ORDER BY 1 LIMIT 1), ''),
  coalesce((SELECT ` + relParent("t", "tn") + `
            FROM pg_depend d
            JOIN pg_class t ON t.oid = d.refobjid
            JOIN pg_namespace tn ON tn.oid = t.relnamespace
            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
              AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
            ORDER BY 1 LIMIT 1), '')
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ` + inSchemas + ` AND ` + notExt("pg_class", "c.oid"),
		},
		{
			// Columns by name: Atlas adds a new column at the end, so the
			// order is not compared. A composite type's attributes are
			// compared in order, with the type. Some PostgreSQL builds
			// stamp every column with an internal pg_attver option whose
			// value differs in every database: it is not part of the
			// schema, and no user can set it.
			name: "columns",
			attrs: []string{"type", "not_null", "default", "identity", "collation", "statistics",
				"options", "acl", "storage", "compression", "fdw_options", "local", "comment", "parent"},
			sql: `SELECT 'column', n.nspname || '.' || c.relname || '.' || a.attname,
  format_type(a.atttypid, a.atttypmod), a.attnotnull::text,
  CASE WHEN a.attgenerated = 's' THEN 'GENERATED ALWAYS AS (' || pg_get_expr(d.adbin, d.adrelid) || ') STORED'
       ELSE coalesce(pg_get_expr(d.adbin, d.adrelid), '') END,
  a.attidentity::text,
  CASE WHEN a.attcollation <> t.typcollation THEN coalesce(cn.nspname || '.' || co.collname, '') ELSE '' END,
  coalesce(a.attstattarget, -1)::text,
  ` + sorted("a.attoptions", "o NOT LIKE 'pg\\_attver=%'") + `,
  ` + acl("a.attacl", "c.relowner", "NULL") + `,
  a.attstorage::text, a.attcompression::text,
  ` + sorted("a.attfdwoptions") + `,
  a.attislocal::text,
  coalesce(col_description(c.oid, a.attnum), ''),
  ` + relParent("c", "n") + `
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
WHERE ` + inSchemas + ` AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
  AND ` + notExt("pg_class", "c.oid"),
		},
		{
			// pg_get_constraintdef writes DEFERRABLE, INITIALLY DEFERRED
			// and NOT VALID (condeferrable, condeferred, convalidated), so
			// the definition holds them, once.
			name:  "constraints",
			attrs: []string{"type", "definition", "local", "comment", "parent"},
			sql: `SELECT CASE WHEN con.contypid <> 0 THEN 'domain constraint' ELSE 'constraint' END,
  n.nspname || '.' || coalesce(c.relname, t.typname) || '.' || con.conname,
  con.contype::text, pg_get_constraintdef(con.oid), con.conislocal::text,
  coalesce(obj_description(con.oid, 'pg_constraint'), ''),
  CASE WHEN con.contypid <> 0 THEN 'domain ' || n.nspname || '.' || t.typname ELSE ` + relParent("c", "n") + ` END
FROM pg_constraint con
JOIN pg_namespace n ON n.oid = con.connamespace
LEFT JOIN pg_class c ON c.oid = con.conrelid AND con.conrelid <> 0
LEFT JOIN pg_type t ON t.oid = con.contypid AND con.contypid <> 0
WHERE ` + inSchemas + ` AND (c.oid IS NOT NULL OR t.oid IS NOT NULL)
  AND (c.oid IS NULL OR ` + notExt("pg_class", "c.oid") + `)
  AND (t.oid IS NULL OR ` + notExt("pg_type", "t.oid") + `)`,
		},
		{
			name: "indexes",
			// A partition's index is "attached" to its partitioned
			// table's index (PostgreSQL's own, or one attached by hand).
			attrs: []string{"definition", "clustered", "valid", "tablespace", "statistics", "comment", "attached", "parent"},
			sql: `SELECT 'index', n.nspname || '.' || c.relname,
  pg_get_indexdef(c.oid), i.indisclustered::text, i.indisvalid::text,
  coalesce(ts.spcname, ''),
  coalesce((SELECT string_agg(a.attnum || '=' || a.attstattarget, ', ' ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = c.oid AND coalesce(a.attstattarget, -1) <> -1), ''),
  coalesce(obj_description(c.oid, 'pg_class'), ''),
  coalesce((SELECT pn.nspname || '.' || pc.relname FROM pg_inherits h JOIN pg_class pc ON pc.oid = h.inhparent
            JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE h.inhrelid = c.oid), ''),
  ` + relParent("t", "tn") + `
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
WHERE ` + inSchemas + ` AND ` + notExt("pg_class", "t.oid") + ` AND ` + notExt("pg_class", "c.oid"),
		},
		{
			// "body" (SQL and PL/pgSQL, which PostgreSQL's core lexer
			// reads) is compared by that lexer (see Compare); a
			// SQL-standard body (BEGIN ATOMIC) is the server's rendering.
			// Other languages' source ("source": a C symbol, Python, …)
			// is compared byte for byte: case and layout may matter there.
			// A range type's constructors come with it (deptype 'i').
			name: "routines",
			attrs: []string{"arguments", "result", "language", "volatility", "strict", "security_definer",
				"leakproof", "parallel", "cost", "rows", "config", "acl", "body", "source", "library", "support", "aggregate", "comment", "owner"},
			sql: `SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function'
    ELSE 'function' END,
  n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
  pg_get_function_arguments(p.oid), coalesce(pg_get_function_result(p.oid), ''),
  l.lanname, p.provolatile::text, p.proisstrict::text, p.prosecdef::text, p.proleakproof::text,
  p.proparallel::text, p.procost::text, p.prorows::text,
  ` + sorted("p.proconfig") + `,
  ` + acl("p.proacl", "p.proowner", "acldefault('f', p.proowner)") + `,
  CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid)
       WHEN l.lanname IN ('sql', 'plpgsql') THEN p.prosrc ELSE '' END,
  CASE WHEN p.prosqlbody IS NULL AND l.lanname NOT IN ('sql', 'plpgsql') THEN p.prosrc ELSE '' END,
  coalesce(p.probin, ''),
  CASE WHEN p.prosupport <> 0 THEN p.prosupport::regprocedure::text ELSE '' END,
  coalesce((SELECT row(ag.aggkind, ag.aggnumdirectargs, ag.aggtransfn, ag.aggfinalfn, ag.aggcombinefn,
                       ag.aggserialfn, ag.aggdeserialfn, ag.aggmtransfn, ag.aggminvtransfn, ag.aggmfinalfn,
                       ag.aggfinalextra, ag.aggmfinalextra, ag.aggfinalmodify, ag.aggmfinalmodify,
                       ag.aggsortop::regoperator, format_type(ag.aggtranstype, NULL), ag.aggtransspace,
                       format_type(ag.aggmtranstype, NULL), ag.aggmtransspace, ag.agginitval, ag.aggminitval)::text
            FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid), ''),
  coalesce(obj_description(p.oid, 'pg_proc'), ''),
  ` + owner("p.proowner") + `
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE ` + inSchemas + ` AND ` + notExt("pg_proc", "p.oid") + `
  AND NOT EXISTS (SELECT 1 FROM pg_depend xi WHERE xi.classid = 'pg_proc'::regclass AND xi.objid = p.oid AND xi.deptype = 'i')`,
		},
		{
			name:  "triggers",
			attrs: []string{"definition", "enabled", "comment", "parent"},
			sql: `SELECT 'trigger', n.nspname || '.' || c.relname || '.' || t.tgname,
  pg_get_triggerdef(t.oid), t.tgenabled::text,
  coalesce(obj_description(t.oid, 'pg_trigger'), ''),
  ` + relParent("c", "n") + `
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ` + inSchemas + ` AND NOT t.tgisinternal AND ` + notExt("pg_class", "c.oid"),
		},
		{
			// Array types, tables' row types and ranges' multiranges come
			// with their owner and are compared through it.
			name: "types",
			attrs: []string{"labels", "base_type", "default", "not_null", "collation", "attributes", "range",
				"base", "acl", "comment", "owner"},
			sql: `SELECT CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite type'
    WHEN 'r' THEN 'range type' WHEN 'b' THEN 'base type' ELSE 'type' END,
  n.nspname || '.' || t.typname,
  coalesce((SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
            FROM pg_enum e WHERE e.enumtypid = t.oid), ''),
  CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE '' END,
  coalesce(pg_get_expr(t.typdefaultbin, 0), t.typdefault, ''),
  t.typnotnull::text,
  CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation
       THEN (SELECT cn.nspname || '.' || co.collname FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
             WHERE co.oid = t.typcollation) ELSE '' END,
  coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                    || CASE WHEN a.attcollation <> at.typcollation THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END
                    || coalesce(' COMMENT ' || quote_literal(col_description(t.typrelid, a.attnum)), ''),
                    ', ' ORDER BY a.attnum)
            FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
            WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), ''),
  coalesce((SELECT row(format_type(r.rngsubtype, NULL), opc.opcname, r.rngcollation::regcollation, r.rngcanonical,
                       r.rngsubdiff, format_type(r.rngmultitypid, NULL))::text
            FROM pg_range r JOIN pg_opclass opc ON opc.oid = r.rngsubopc WHERE r.rngtypid = t.oid), ''),
  CASE WHEN t.typtype = 'b' THEN row(t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout,
       t.typanalyze, t.typsubscript, t.typlen, t.typbyval, t.typalign, t.typstorage, t.typcategory,
       t.typispreferred, t.typdelim, format_type(t.typelem, NULL), t.typcollation <> 0)::text ELSE '' END,
  ` + acl("t.typacl", "t.typowner", "acldefault('T', t.typowner)") + `,
  coalesce(obj_description(t.oid, 'pg_type'), ''),
  ` + owner("t.typowner") + `
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype AND t.typbasetype <> 0
LEFT JOIN pg_class rc ON rc.oid = t.typrelid AND t.typrelid <> 0
WHERE ` + inSchemas + ` AND t.typtype IN ('b', 'c', 'd', 'e', 'r', 'p')
  AND (t.typtype <> 'c' OR rc.relkind = 'c')
  AND NOT (t.typtype = 'b' AND t.typelem <> 0 AND EXISTS (SELECT 1 FROM pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid))
  AND ` + notExt("pg_type", "t.oid"),
		},
		{
			name:  "extensions",
			attrs: []string{"schema", "version", "comment"},
			sql: `SELECT 'extension', e.extname, n.nspname, e.extversion,
  coalesce(obj_description(e.oid, 'pg_extension'), '')
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE $1::text[] IS NOT NULL`,
		},
		{
			name:  "policies",
			attrs: []string{"command", "permissive", "roles", "using", "with_check", "comment", "parent"},
			sql: `SELECT 'policy', n.nspname || '.' || c.relname || '.' || p.polname,
  p.polcmd::text, p.polpermissive::text,
  (SELECT string_agg(r.name, ', ' ORDER BY r.name)
   FROM (SELECT CASE WHEN ro = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(ro)) END AS name FROM unnest(p.polroles) ro) r),
  coalesce(pg_get_expr(p.polqual, p.polrelid), ''),
  coalesce(pg_get_expr(p.polwithcheck, p.polrelid), ''),
  coalesce(obj_description(p.oid, 'pg_policy'), ''),
  ` + relParent("c", "n") + `
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ` + inSchemas + ` AND ` + notExt("pg_class", "c.oid"),
		},
		{
			// A view's own _RETURN rule is its definition, read above.
			name:  "rules",
			attrs: []string{"definition", "enabled", "comment", "parent"},
			sql: `SELECT 'rule', n.nspname || '.' || c.relname || '.' || r.rulename,
  pg_get_ruledef(r.oid), r.ev_enabled::text,
  coalesce(obj_description(r.oid, 'pg_rewrite'), ''),
  ` + relParent("c", "n") + `
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ` + inSchemas + ` AND r.rulename <> '_RETURN' AND ` + notExt("pg_class", "c.oid"),
		},
		{
			name:  "statistics",
			attrs: []string{"definition", "target", "comment", "owner"},
			sql: `SELECT 'statistics', n.nspname || '.' || s.stxname,
  pg_get_statisticsobjdef(s.oid), coalesce(s.stxstattarget, -1)::text,
  coalesce(obj_description(s.oid, 'pg_statistic_ext'), ''),
  ` + owner("s.stxowner") + `
FROM pg_statistic_ext s
JOIN pg_namespace n ON n.oid = s.stxnamespace
WHERE ` + inSchemas + ` AND ` + notExt("pg_statistic_ext", "s.oid"),
		},
		{
			name:  "event triggers",
			attrs: []string{"event", "tags", "function", "enabled", "comment"},
			sql: `SELECT 'event trigger', e.evtname, e.evtevent, ` + sorted("e.evttags") + `,
  e.evtfoid::regprocedure::text, e.evtenabled::text,
  coalesce(obj_description(e.oid, 'pg_event_trigger'), '')
FROM pg_event_trigger e
WHERE $1::text[] IS NOT NULL AND ` + notExt("pg_event_trigger", "e.oid"),
		},
		{
			name:  "default privileges",
			attrs: []string{"acl"},
			sql: `SELECT 'default privileges',
  'for ' || pg_get_userbyid(d.defaclrole) || coalesce(' in ' || n.nspname, '') || ' on '
    || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
         WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' ELSE d.defaclobjtype::text END,
  ` + acl("d.defaclacl", "d.defaclrole", "NULL") + `
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
WHERE d.defaclnamespace = 0 OR ` + inSchemas,
		},
		{
			// Comments on what no query above reads (operators,
			// collations, casts, …: objects the diff refuses today), and
			// the database's own comment: nothing escapes the print.
			name:     "other comments",
			attrs:    []string{"comment"},
			attrOnly: true,
			sql: `SELECT o.type, o.identity, d.description
FROM pg_description d, LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
WHERE d.objoid >= 16384
  AND d.classoid NOT IN ('pg_namespace'::regclass, 'pg_class'::regclass, 'pg_constraint'::regclass, 'pg_proc'::regclass,
    'pg_trigger'::regclass, 'pg_type'::regclass, 'pg_extension'::regclass, 'pg_policy'::regclass,
    'pg_rewrite'::regclass, 'pg_statistic_ext'::regclass, 'pg_event_trigger'::regclass)
  AND (o.schema = ANY($1::text[]) OR o.schema IS NULL)
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')
UNION ALL
SELECT 'database', 'current', shobj_description(db.oid, 'pg_database')
FROM pg_database db WHERE db.datname = current_database() AND shobj_description(db.oid, 'pg_database') IS NOT NULL`,
		},
	}
}
