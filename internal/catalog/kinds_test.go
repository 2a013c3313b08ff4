package catalog_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tasks/internal/catalog"
	"tasks/internal/dbtest"
)

// kindCase builds DB A from base+a and DB B from base+b. base holds what
// Atlas plans (tables); a and b the kinds under test.
type kindCase struct {
	name    string
	schemas []string // managed schemas; default public
	base    string
	a, b    string
	// recreate are the IDs whose change PostgreSQL cannot make in place:
	// their Alter must say so, and only theirs.
	recreate []string
	// refuse, when set, is part of the error Refuse must give for the
	// A→B change of some object.
	refuse string
}

var kindCases = []kindCase{{
	name:    "schemas",
	schemas: []string{"public", "audit", "old"},
	a: `CREATE SCHEMA audit; CREATE SCHEMA old;
CREATE TYPE audit.level AS ENUM ('low', 'high');
CREATE DOMAIN public.lvl AS audit.level;
CREATE TYPE old.t AS ENUM ('x');`,
	b: `CREATE SCHEMA audit;
CREATE TYPE audit.level AS ENUM ('low', 'high');
CREATE DOMAIN public.lvl AS audit.level NOT NULL;`,
}, {
	name:    "extensions",
	schemas: []string{"public", "ext"},
	a: `CREATE SCHEMA ext;
CREATE EXTENSION pg_trgm VERSION '1.5';
CREATE EXTENSION citext;
CREATE EXTENSION hstore;`,
	b: `CREATE SCHEMA ext;
CREATE EXTENSION pg_trgm;
CREATE EXTENSION hstore WITH SCHEMA ext;
CREATE EXTENSION btree_gist;`,
}, {
	name:   "extension downgrade refused",
	a:      `CREATE EXTENSION pg_trgm;`,
	b:      `CREATE EXTENSION pg_trgm VERSION '1.4';`,
	refuse: "no update path from version 1.6 to 1.4",
}, {
	name: "enums",
	a: `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE e2 AS ENUM ('a', 'b');
CREATE TYPE gone AS ENUM ();
CREATE TYPE "Odd name" AS ENUM ('it''s');`,
	b: `CREATE TYPE mood AS ENUM ('sad', 'meh', 'ok', 'happy', 'ecstatic', 'joyful');
CREATE TYPE e2 AS ENUM ('a', 'c');
CREATE TYPE e3 AS ENUM ('x', 'y');
CREATE TYPE "Odd name" AS ENUM ('it''s');`,
}, {
	name:   "enum value removed refused",
	a:      `CREATE TYPE e AS ENUM ('a', 'b', 'c');`,
	b:      `CREATE TYPE e AS ENUM ('a', 'c');`,
	refuse: "cannot remove or reorder enum values",
}, {
	name:   "enum values reordered refused",
	a:      `CREATE TYPE e AS ENUM ('a', 'b', 'c');`,
	b:      `CREATE TYPE e AS ENUM ('b', 'a', 'c');`,
	refuse: "cannot remove or reorder enum values",
}, {
	name:   "composite retyped under a column refused",
	a:      `CREATE TYPE cp AS (a int); CREATE TABLE t (c cp);`,
	b:      `CREATE TYPE cp AS (a bigint); CREATE TABLE t (c cp);`,
	refuse: "re-creating it would drop the columns public.t.c",
}, {
	name:   "domain rebased under a column refused",
	a:      `CREATE DOMAIN d AS int; CREATE TABLE t (c d[]);`,
	b:      `CREATE DOMAIN d AS bigint; CREATE TABLE t (c d[]);`,
	refuse: "re-creating it would drop the columns public.t.c",
}, {
	name:   "range changed under a column refused",
	a:      `CREATE TYPE r AS RANGE (subtype = int4); CREATE TABLE t (c r);`,
	b:      `CREATE TYPE r AS RANGE (subtype = int8); CREATE TABLE t (c r);`,
	refuse: "re-creating it would drop the columns public.t.c",
}, {
	name: "domains",
	a: `CREATE DOMAIN pos AS int DEFAULT 1 NOT NULL CONSTRAINT pos_check CHECK (VALUE > 0);
ALTER DOMAIN pos ADD CONSTRAINT small CHECK (VALUE < 100) NOT VALID;
CREATE DOMAIN code AS text COLLATE "C" CHECK (length(VALUE) = 3);
CREATE DOMAIN chg AS int;
CREATE DOMAIN gone AS text;`,
	b: `CREATE DOMAIN pos AS int CONSTRAINT pos_check CHECK (VALUE >= 0) CONSTRAINT small CHECK (VALUE < 100) CONSTRAINT big CHECK (VALUE > -5);
CREATE DOMAIN code AS text COLLATE "C" DEFAULT 'abc' CHECK (length(VALUE) = 3);
ALTER DOMAIN code ADD CONSTRAINT upper CHECK (VALUE = upper(VALUE)) NOT VALID;
CREATE DOMAIN chg AS bigint;`,
	recreate: []string{"domain public.chg"},
}, {
	name: "composite types",
	a: `CREATE TYPE addr AS (street text, city text, zip int);
CREATE TYPE pair AS (x int, y int);
CREATE TYPE named AS (n text COLLATE "C");`,
	b: `CREATE TYPE addr AS (street text, zip bigint, country text);
CREATE TYPE pair AS (y int, x int);
CREATE TYPE named AS (n text COLLATE "POSIX", m numeric(10,2));`,
	recreate: []string{"composite type public.pair"},
}, {
	name: "range types",
	a: `CREATE TYPE floatr AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE TYPE gone AS RANGE (subtype = int4);`,
	b: `CREATE TYPE floatr AS RANGE (subtype = float8);
CREATE TYPE textr AS RANGE (subtype = text, collation = "C", multirange_type_name = textmr);`,
	recreate: []string{"range type public.floatr"},
}, {
	name: "sequences",
	base: `CREATE TABLE t (id bigint, n int);
CREATE TABLE u (id serial, big bigserial);
CREATE TABLE w (id int GENERATED ALWAYS AS IDENTITY);`,
	a: `CREATE SEQUENCE s1;
CREATE SEQUENCE s2 AS integer START 10 INCREMENT 5 MINVALUE 5 MAXVALUE 1000 CACHE 10 CYCLE OWNED BY t.n;
CREATE SEQUENCE down INCREMENT -1;
CREATE SEQUENCE owned OWNED BY t.id;`,
	b: `CREATE SEQUENCE s1 AS integer INCREMENT 2 CACHE 5 CYCLE;
CREATE SEQUENCE s2 AS integer START 10 INCREMENT 5 MINVALUE 5 MAXVALUE 1000 CACHE 10 OWNED BY t.id;
CREATE SEQUENCE owned;
CREATE SEQUENCE neg AS smallint INCREMENT -3 MINVALUE -300;`,
}, {
	name: "views",
	base: `CREATE TABLE t (a int, b text);`,
	a: `CREATE VIEW v1 AS SELECT a FROM t;
CREATE VIEW v2 WITH (security_barrier) AS SELECT a, b FROM t WHERE a > 0;
CREATE VIEW v3 AS SELECT a FROM v1;
CREATE VIEW v4 AS SELECT a, b FROM t WITH LOCAL CHECK OPTION;
CREATE VIEW v5 AS SELECT a, b FROM t;
CREATE VIEW gone AS SELECT 1 AS one;`,
	b: `CREATE VIEW v1 AS SELECT a, b FROM t;
CREATE VIEW v2 WITH (security_invoker) AS SELECT a, b FROM t WHERE a > 0;
CREATE VIEW v3 AS SELECT a FROM v1;
CREATE VIEW v4 AS SELECT a, b FROM t WITH CASCADED CHECK OPTION;
CREATE VIEW v5 AS SELECT b FROM t;
CREATE VIEW v6 AS SELECT v5.b, v3.a FROM v5, v3;`,
	recreate: []string{"view public.v5"},
}, {
	name: "materialized views",
	base: `CREATE TABLE t (a int, b text);`,
	a: `CREATE MATERIALIZED VIEW mv AS SELECT a FROM t;
CREATE UNIQUE INDEX mv_a ON mv (a);
CREATE MATERIALIZED VIEW mv2 AS SELECT b FROM t WITH NO DATA;
CREATE MATERIALIZED VIEW mv3 AS SELECT 1 AS x;
CREATE VIEW over AS SELECT a FROM mv;`,
	b: `CREATE MATERIALIZED VIEW mv AS SELECT a, b FROM t;
CREATE UNIQUE INDEX mv_a ON mv (a);
CREATE INDEX mv_b ON mv (b);
CREATE MATERIALIZED VIEW mv2 AS SELECT b FROM t;
CREATE VIEW over AS SELECT a FROM mv;`,
	recreate: []string{"materialized view public.mv"},
}, {
	name: "aggregates",
	a: `CREATE FUNCTION add_len(int, text) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + length($2)';
CREATE AGGREGATE total_len(text) (SFUNC = add_len, STYPE = int, INITCOND = '0');
CREATE AGGREGATE my_max(int) (SFUNC = int4larger, STYPE = int, SORTOP = >, COMBINEFUNC = int4larger, PARALLEL = SAFE);
CREATE AGGREGATE gone(int) (SFUNC = int4larger, STYPE = int);
CREATE AGGREGATE cnt(*) (SFUNC = int8inc, STYPE = int8, INITCOND = '0');`,
	b: `CREATE FUNCTION add_len(int, text) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + length($2)';
CREATE AGGREGATE total_len(text) (SFUNC = add_len, STYPE = int, INITCOND = '10');
CREATE AGGREGATE my_max(int) (SFUNC = int4larger, STYPE = int, FINALFUNC = float8, SORTOP = >);
CREATE AGGREGATE cnt(*) (SFUNC = int8inc, STYPE = int8, INITCOND = '0', MSFUNC = int8inc, MINVFUNC = int8dec, MSTYPE = int8, MINITCOND = '0');`,
	recreate: []string{"aggregate public.my_max(integer)"},
}, {
	name:    "every kind in a second schema",
	schemas: []string{"public", "app"},
	base:    `CREATE SCHEMA app; CREATE TABLE app.t (a int, b text);`,
	a: `CREATE TYPE app.e AS ENUM ('x');
CREATE DOMAIN app.d AS app.e;
CREATE TYPE app.c AS (x app.d, y text COLLATE "C");
CREATE TYPE app.r AS RANGE (subtype = int4);
CREATE SEQUENCE app.s OWNED BY app.t.a;
CREATE VIEW app.v WITH (security_barrier) AS SELECT a, b FROM app.t;
CREATE MATERIALIZED VIEW app.mv AS SELECT a FROM app.v;
CREATE INDEX mv_a ON app.mv (a);
CREATE RULE keep AS ON DELETE TO app.t DO INSTEAD NOTHING;
CREATE AGGREGATE app.total(int) (SFUNC = int4pl, STYPE = int);`,
	b: `CREATE TYPE app.e AS ENUM ('w', 'x');
CREATE DOMAIN app.d AS app.e DEFAULT 'x';
CREATE TYPE app.r AS RANGE (subtype = int4);
CREATE TYPE app.c AS (x app.d, y text COLLATE "C", z app.r);
CREATE SEQUENCE app.s INCREMENT 3 OWNED BY app.t.b;
CREATE VIEW app.v WITH (security_barrier) AS SELECT a, b, 1 AS one FROM app.t;
CREATE MATERIALIZED VIEW app.mv AS SELECT b FROM app.v;
CREATE INDEX mv_b ON app.mv (b);
CREATE RULE keep AS ON DELETE TO app.t DO INSTEAD NOTHING;
CREATE AGGREGATE app.total(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0');`,
	recreate: []string{"materialized view app.mv"},
}, {
	name: "rules",
	base: `CREATE TABLE t (a int); CREATE TABLE t_log (a int);`,
	a: `CREATE RULE r1 AS ON INSERT TO t DO ALSO INSERT INTO t_log VALUES (NEW.a);
CREATE RULE r2 AS ON DELETE TO t DO INSTEAD NOTHING;
CREATE RULE r3 AS ON UPDATE TO t DO INSTEAD NOTHING;`,
	b: `CREATE RULE r1 AS ON INSERT TO t DO ALSO INSERT INTO t_log VALUES (NEW.a + 1);
CREATE RULE r2 AS ON DELETE TO t DO INSTEAD NOTHING;
ALTER TABLE t DISABLE RULE r2;`,
}}

// Every kind round-trips through the planner: the plan from the base's
// tables to a source builds a database whose model equals the source's,
// and the plan from A to B (Alter in place, Drop, Create, or drop and
// re-create where Alter says PostgreSQL cannot) turns A into a database
// whose model equals B's.
func TestKindsRoundTrip(t *testing.T) {
	for _, tc := range kindCases {
		t.Run(tc.name, func(t *testing.T) {
			schemas := tc.schemas
			if schemas == nil {
				schemas = []string{"public"}
			}
			dbA := kindBuild(t, tc.base+"\n"+tc.a)
			dbB := kindBuild(t, tc.base+"\n"+tc.b)
			ma := kindInspect(t, dbA, schemas)
			mb := kindInspect(t, dbB, schemas)

			for _, src := range []struct {
				db *sql.DB
				m  *catalog.Model
			}{{dbA, ma}, {dbB, mb}} {
				if tc.refuse != "" {
					break // the plan is the point; these use Atlas's tables
				}
				dbC := kindBuild(t, tc.base)
				stmts, err := planned(dbC, src.db, schemas)
				if err != nil {
					t.Fatal(err)
				}
				kindExec(t, dbC, stmts...)
				if diff := cmp.Diff(kindDefs(src.m), kindDefs(kindInspect(t, dbC, schemas))); diff != "" {
					t.Fatalf("created by the plan %q (-source +created):\n%s", stmts, diff)
				}
			}

			stmts, err := planned(dbA, dbB, schemas)
			if tc.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refuse) {
					t.Fatalf("refusal = %v, want one containing %q", err, tc.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.recreate, recreated(ma, mb)); diff != "" {
				t.Errorf("re-created (-want +got):\n%s", diff)
			}
			t.Logf("A→B:\n%s", strings.Join(stmts, ";\n"))
			kindExec(t, dbA, stmts...)
			if diff := cmp.Diff(kindDefs(mb), kindDefs(kindInspect(t, dbA, schemas))); diff != "" {
				t.Errorf("A altered to B (-B +A):\n%s", diff)
			}
		})
	}
}

// recreated are the IDs of the objects whose change from `from` to `to`
// their Alter says PostgreSQL cannot make in place.
func recreated(from, to *catalog.Model) []string {
	var out []string
	for _, id := range to.IDs() {
		o, f := to.Objects[id], from.Objects[id]
		if f == nil || f.Def == o.Def || o.Atlas {
			continue
		}
		if o.Alter != nil {
			if _, ok := o.Alter(f); ok {
				continue
			}
		}
		out = append(out, id.String())
	}
	return out
}

func kindBuild(t *testing.T, sqls string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dbtest.Require(t, cluster).Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if strings.TrimSpace(sqls) != "" {
		kindExec(t, db, sqls)
	}
	return db
}

func kindExec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func kindInspect(t *testing.T, db *sql.DB, schemas []string) *catalog.Model {
	t.Helper()
	m, err := catalog.Inspect(context.Background(), db, schemas, "public")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// defs is what two models are compared by: every object's Def and its
// dependencies.
func kindDefs(m *catalog.Model) map[string]string {
	out := map[string]string{}
	for id, o := range m.Objects {
		var deps []string
		for _, d := range o.Deps {
			deps = append(deps, d.ID.String())
		}
		out[id.String()] = o.Def + "\ndeps: " + strings.Join(deps, ", ")
	}
	return out
}

// The graph orders the kinds around Atlas's tables: an index on an
// extension's operator class and a column of an extension's type need
// the extension; a column of an enum type needs the type; a column
// defaulting to a sequence that it also owns is no cycle (the OWNED BY
// is an object of its own); a sequence of a serial or identity column is
// Atlas's column, not an object.
func TestKindsInTheGraph(t *testing.T) {
	db := kindBuild(t, `CREATE EXTENSION pg_trgm; CREATE EXTENSION citext;
CREATE TYPE status AS ENUM ('open', 'closed');
CREATE SEQUENCE ticket_no;
CREATE TABLE t (s text, c citext, st status, n bigint DEFAULT nextval('ticket_no'), id serial,
  ident int GENERATED BY DEFAULT AS IDENTITY);
ALTER SEQUENCE ticket_no OWNED BY t.n;
CREATE INDEX t_s ON t USING gin (s gin_trgm_ops);
CREATE VIEW v AS SELECT s, st FROM t;`)
	m := kindInspect(t, db, []string{"public"})
	objects := byString(m)
	deps := func(id string) []string {
		o := objects[id]
		if o == nil {
			t.Fatalf("%s missing from %v", id, m.IDs())
		}
		var out []string
		for _, d := range o.Deps {
			out = append(out, d.ID.String())
		}
		return out
	}
	got := map[string][]string{
		"index public.t_s":                            deps("index public.t_s"),
		"column public.t.c":                           deps("column public.t.c"),
		"column public.t.st":                          deps("column public.t.st"),
		"column public.t.n":                           deps("column public.t.n"),
		"sequence public.ticket_no":                   deps("sequence public.ticket_no"),
		"sequence owner of sequence public.ticket_no": deps("sequence owner of sequence public.ticket_no"),
		"view public.v":                               deps("view public.v"),
	}
	want := map[string][]string{
		"index public.t_s":                            {"column public.t.s", "extension pg_trgm"},
		"column public.t.c":                           {"extension citext", "table public.t"},
		"column public.t.st":                          {"enum type public.status", "table public.t"},
		"column public.t.n":                           {"sequence public.ticket_no", "table public.t"},
		"sequence public.ticket_no":                   nil, // public is older than any user object: no edge
		"sequence owner of sequence public.ticket_no": {"column public.t.n", "sequence public.ticket_no"},
		"view public.v":                               {"column public.t.s", "column public.t.st", "enum type public.status"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deps (-want +got):\n%s", diff)
	}
	for _, id := range m.IDs() {
		if strings.HasPrefix(id.String(), "sequence public.t_") {
			t.Errorf("%s: a serial or identity sequence is Atlas's column, not an object", id)
		}
	}
}

// Objects no inspector models are refused by kind and name, never left
// out: one of each schema-scoped kind the tool does not diff.
func TestUnclaimedRefusedByName(t *testing.T) {
	db := kindBuild(t, `
CREATE FUNCTION same(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 = $2';
CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = same);
CREATE OPERATOR FAMILY fam USING btree;
CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TEXT SEARCH DICTIONARY words (TEMPLATE = simple);
CREATE TEXT SEARCH CONFIGURATION docs (COPY = english);`)
	_, err := catalog.Inspect(context.Background(), db, []string{"public"}, "public")
	var ue *catalog.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("Inspect = %v, want an UnsupportedError", err)
	}
	for _, want := range []string{"operator public.===", "operator family public.fam", "collation public.nocase",
		"text search dictionary public.words", "text search configuration public.docs"} {
		if !slices.Contains(ue.Objects, want) {
			t.Errorf("%q not named in %v", want, ue.Objects)
		}
	}
}
