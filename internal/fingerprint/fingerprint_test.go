package fingerprint_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "github.com/lib/pq"

	"tasks/internal/dbtest"
	"tasks/internal/fingerprint"
)

var cluster *dbtest.Cluster

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m, &cluster)) }

// schemas are the managed schemas every print here is taken of.
var schemas = []string{"public", "extra"}

// setup is what both databases of every case hold before the case's own
// statements.
const setup = `
CREATE SCHEMA extra;
CREATE TABLE t (id integer PRIMARY KEY, title text NOT NULL, n integer);
CREATE ROLE fp_reader;
CREATE ROLE fp_writer;
`

// printer takes prints of one database: each print inside a transaction
// that is rolled back, so cases share the database and never see each
// other. Roles are cluster-wide, so they are created inside the
// transaction too, and a print is finished before the next one starts.
type printer struct{ db *sql.DB }

func newPrinter(t *testing.T) printer {
	db, err := sql.Open("postgres", dbtest.Require(t, cluster).Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return printer{db}
}

func (p printer) take(t *testing.T, stmts ...string) fingerprint.Print {
	t.Helper()
	ctx := context.Background()
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s\n%v", s, err)
		}
	}
	pr, err := fingerprint.Take(ctx, tx, schemas)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

// Two databases differing in one attribute give exactly one difference,
// naming it; databases holding the same schema built differently give
// none. The two prints of a case come from two databases.
func TestCompare(t *testing.T) {
	want, got := newPrinter(t), newPrinter(t)
	tests := []struct {
		name          string
		before, after string
		key           string // the one difference; "" for none
	}{
		// Schemas.
		{"schema missing", "", "DROP SCHEMA extra", "schema extra exists"},
		{"schema acl", "", "GRANT USAGE ON SCHEMA extra TO fp_reader", "schema extra acl"},
		{"schema comment", "", "COMMENT ON SCHEMA public IS 'the public one'", "schema public comment"},
		{"unmanaged schema ignored", "", "CREATE SCHEMA atlas_schema_revisions; CREATE TABLE atlas_schema_revisions.atlas_schema_revisions (version text)", ""},

		// Relations.
		{"table missing", "CREATE TABLE u (a int)", "", "table public.u exists"},
		{"persistence", "CREATE TABLE u (a int)", "CREATE UNLOGGED TABLE u (a int)", "table public.u persistence"},
		{"replica identity", "", "ALTER TABLE t REPLICA IDENTITY FULL", "table public.t replica_identity"},
		{"replica identity index", "CREATE UNIQUE INDEX u1 ON t (id, n); CREATE UNIQUE INDEX u2 ON t (n, id); ALTER TABLE t ALTER n SET NOT NULL; ALTER TABLE t REPLICA IDENTITY USING INDEX u1",
			"CREATE UNIQUE INDEX u1 ON t (id, n); CREATE UNIQUE INDEX u2 ON t (n, id); ALTER TABLE t ALTER n SET NOT NULL; ALTER TABLE t REPLICA IDENTITY USING INDEX u2",
			"table public.t replica_identity"},
		{"row level security", "", "ALTER TABLE t ENABLE ROW LEVEL SECURITY", "table public.t row_security"},
		{"forced row level security", "", "ALTER TABLE t FORCE ROW LEVEL SECURITY", "table public.t force_row_security"},
		{"storage parameters", "", "ALTER TABLE t SET (fillfactor = 70)", "table public.t options"},
		{"table privileges", "", "GRANT SELECT ON t TO fp_reader", "table public.t acl"},
		{"grant option", "GRANT SELECT ON t TO fp_reader", "GRANT SELECT ON t TO fp_reader WITH GRANT OPTION", "table public.t acl"},
		{"privileges back to the default", "", "GRANT SELECT ON t TO PUBLIC; REVOKE SELECT ON t FROM PUBLIC", ""},
		// An owner the state sets is compared; the connected role, which
		// owns what was created without OWNER TO, stands for none.
		{"owner", "", "ALTER TABLE t OWNER TO fp_writer", "table public.t owner"},
		{"owner back to the connected role", "", "ALTER TABLE t OWNER TO fp_writer; ALTER TABLE t OWNER TO CURRENT_USER", ""},
		{"function owner", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; ALTER FUNCTION f() OWNER TO fp_writer", "function public.f() owner"},
		{"partition key", "CREATE TABLE pt (a int, b int) PARTITION BY RANGE (a)", "CREATE TABLE pt (a int, b int) PARTITION BY RANGE (b)", "table public.pt partition_key"},
		{"partition bound", "CREATE TABLE pt (a int) PARTITION BY RANGE (a); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (10)",
			"CREATE TABLE pt (a int) PARTITION BY RANGE (a); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (20)", "table public.pt1 partition_bound"},
		{"inheritance", "CREATE TABLE p1 (a int); CREATE TABLE p2 (a int); CREATE TABLE c (a int) INHERITS (p1)",
			"CREATE TABLE p1 (a int); CREATE TABLE p2 (a int); CREATE TABLE c (a int) INHERITS (p2)", "table public.c inherits"},
		{"typed table", "CREATE TYPE ct AS (a int); CREATE TABLE tt OF ct", "CREATE TYPE ct AS (a int); CREATE TABLE tt (a int)", "table public.tt of_type"},
		{"table comment", "", "COMMENT ON TABLE t IS 'tasks'", "table public.t comment"},
		{"table in another managed schema", "CREATE TABLE extra.t (a int)", "", "table extra.t exists"},

		// Views and materialized views.
		{"view definition", "CREATE VIEW v AS SELECT id FROM t WHERE n > 0", "CREATE VIEW v AS SELECT id FROM t WHERE n > 1", "view public.v definition"},
		{"view literal", "CREATE VIEW v AS SELECT 'a b'::text AS s", "CREATE VIEW v AS SELECT 'a  b'::text AS s", "view public.v definition"},
		{"view security_barrier", "CREATE VIEW v AS SELECT id FROM t", "CREATE VIEW v WITH (security_barrier) AS SELECT id FROM t", "view public.v options"},
		{"view security_invoker", "CREATE VIEW v AS SELECT id FROM t", "CREATE VIEW v WITH (security_invoker) AS SELECT id FROM t", "view public.v options"},
		{"view check option", "CREATE VIEW v AS SELECT id FROM t", "CREATE VIEW v AS SELECT id FROM t WITH CHECK OPTION", "view public.v options"},
		{"view column default", "CREATE VIEW v AS SELECT id FROM t", "CREATE VIEW v AS SELECT id FROM t; ALTER VIEW v ALTER id SET DEFAULT 1", "column public.v.id default"},
		{"materialized view populated", "CREATE MATERIALIZED VIEW mv AS SELECT id FROM t", "CREATE MATERIALIZED VIEW mv AS SELECT id FROM t WITH NO DATA", "materialized view public.mv populated"},
		{"materialized view definition", "CREATE MATERIALIZED VIEW mv AS SELECT id FROM t", "CREATE MATERIALIZED VIEW mv AS SELECT id FROM t WHERE n > 0", "materialized view public.mv definition"},

		// Columns, by name.
		{"column type", "", "ALTER TABLE t ALTER title TYPE varchar", "column public.t.title type"},
		{"column type modifier", "ALTER TABLE t ALTER title TYPE varchar(10)", "ALTER TABLE t ALTER title TYPE varchar(20)", "column public.t.title type"},
		{"column not null", "", "ALTER TABLE t ALTER n SET NOT NULL", "column public.t.n not_null"},
		{"column default", "ALTER TABLE t ALTER n SET DEFAULT 1", "ALTER TABLE t ALTER n SET DEFAULT 2", "column public.t.n default"},
		{"column identity", "CREATE TABLE u (id int GENERATED ALWAYS AS IDENTITY)", "CREATE TABLE u (id int GENERATED BY DEFAULT AS IDENTITY)", "column public.u.id identity"},
		{"column generated", "CREATE TABLE u (a int, b int GENERATED ALWAYS AS (a * 2) STORED)", "CREATE TABLE u (a int, b int DEFAULT 2)", "column public.u.b default"},
		{"column generation expression", "CREATE TABLE u (a int, b int GENERATED ALWAYS AS (a * 2) STORED)", "CREATE TABLE u (a int, b int GENERATED ALWAYS AS (a * 3) STORED)", "column public.u.b default"},
		{"column collation", "", `ALTER TABLE t ALTER title TYPE text COLLATE "C"`, "column public.t.title collation"},
		{"column statistics target", "", "ALTER TABLE t ALTER title SET STATISTICS 500", "column public.t.title statistics"},
		{"column options", "", "ALTER TABLE t ALTER n SET (n_distinct = 10)", "column public.t.n options"},
		{"column privileges", "", "GRANT SELECT (title) ON t TO fp_reader", "column public.t.title acl"},
		{"column storage", "", "ALTER TABLE t ALTER title SET STORAGE EXTERNAL", "column public.t.title storage"},
		{"column compression", "", "ALTER TABLE t ALTER title SET COMPRESSION pglz", "column public.t.title compression"},
		{"column comment", "", "COMMENT ON COLUMN t.title IS 'what'", "column public.t.title comment"},
		{"column missing", "ALTER TABLE t ADD b int", "", "column public.t.b exists"},
		{"column order is not a difference", "CREATE TABLE o (a int, b text, c bool)", "CREATE TABLE o (c bool, b text); ALTER TABLE o ADD a int", ""},

		// Constraints.
		{"check definition", "ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0)", "ALTER TABLE t ADD CONSTRAINT c CHECK (n > 1)", "constraint public.t.c definition"},
		{"deferrable", "ALTER TABLE t ADD CONSTRAINT u UNIQUE (n)", "ALTER TABLE t ADD CONSTRAINT u UNIQUE (n) DEFERRABLE", "constraint public.t.u definition"},
		{"initially deferred", "ALTER TABLE t ADD CONSTRAINT u UNIQUE (n) DEFERRABLE", "ALTER TABLE t ADD CONSTRAINT u UNIQUE (n) DEFERRABLE INITIALLY DEFERRED", "constraint public.t.u definition"},
		{"not valid", "ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0)", "ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0) NOT VALID", "constraint public.t.c definition"},
		{"constraint comment", "ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0)", "ALTER TABLE t ADD CONSTRAINT c CHECK (n > 0); COMMENT ON CONSTRAINT c ON t IS 'positive'", "constraint public.t.c comment"},
		{"foreign key action", "CREATE TABLE r (id int REFERENCES t ON DELETE CASCADE)", "CREATE TABLE r (id int REFERENCES t ON DELETE SET NULL)", "constraint public.r.r_id_fkey definition"},

		// Indexes.
		{"index definition", "CREATE INDEX i ON t (n)", "CREATE INDEX i ON t (title)", "index public.i definition"},
		{"index storage parameter", "CREATE INDEX i ON t (n)", "CREATE INDEX i ON t (n) WITH (fillfactor = 50)", "index public.i definition"},
		{"index clustered", "CREATE INDEX i ON t (n)", "CREATE INDEX i ON t (n); ALTER TABLE t CLUSTER ON i", "index public.i clustered"},
		{"index statistics target", "CREATE INDEX i ON t ((n + 1))", "CREATE INDEX i ON t ((n + 1)); ALTER INDEX i ALTER COLUMN 1 SET STATISTICS 100", "index public.i statistics"},
		{"index comment", "CREATE INDEX i ON t (n)", "CREATE INDEX i ON t (n); COMMENT ON INDEX i IS 'by n'", "index public.i comment"},
		{"index attached to a partitioned index",
			"CREATE TABLE pt (a int) PARTITION BY RANGE (a); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (10); CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM (10) TO (20); CREATE INDEX pi ON ONLY pt (a); CREATE INDEX p1i ON pt1 (a); ALTER INDEX pi ATTACH PARTITION p1i",
			"CREATE TABLE pt (a int) PARTITION BY RANGE (a); CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (10); CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM (10) TO (20); CREATE INDEX pi ON ONLY pt (a); CREATE INDEX p1i ON pt1 (a)",
			"index public.p1i attached"},

		// Functions, procedures, aggregates.
		{"function missing", "CREATE FUNCTION g(integer) RETURNS integer LANGUAGE sql AS 'SELECT 1'", "", "function public.g(integer) exists"},
		{"function argument default", fn("a integer DEFAULT 1", "integer", "", "BEGIN RETURN a; END"), fn("a integer DEFAULT 2", "integer", "", "BEGIN RETURN a; END"),
			"function public.f(a integer) arguments"},
		{"function result", fn("a integer", "integer", "", "BEGIN RETURN a; END"), fn("a integer", "bigint", "", "BEGIN RETURN a; END"), "function public.f(a integer) result"},
		{"function volatility", fn("a integer", "integer", "", "BEGIN RETURN a; END"), fn("a integer", "integer", "IMMUTABLE", "BEGIN RETURN a; END"), "function public.f(a integer) volatility"},
		{"function strict", fn("a integer", "integer", "", "BEGIN RETURN a; END"), fn("a integer", "integer", "STRICT", "BEGIN RETURN a; END"), "function public.f(a integer) strict"},
		{"function security definer", fn("a integer", "integer", "", "BEGIN RETURN a; END"), fn("a integer", "integer", "SECURITY DEFINER", "BEGIN RETURN a; END"), "function public.f(a integer) security_definer"},
		{"function leakproof", fn("a integer", "integer", "", "BEGIN RETURN a; END"), fn("a integer", "integer", "LEAKPROOF", "BEGIN RETURN a; END"), "function public.f(a integer) leakproof"},
		{"function parallel", fn("a integer", "integer", "", "BEGIN RETURN a; END"), fn("a integer", "integer", "PARALLEL SAFE", "BEGIN RETURN a; END"), "function public.f(a integer) parallel"},
		{"function cost", fn("a integer", "integer", "", "BEGIN RETURN a; END"), fn("a integer", "integer", "COST 1000", "BEGIN RETURN a; END"), "function public.f(a integer) cost"},
		{"function rows", fn("a integer", "SETOF integer", "", "BEGIN RETURN NEXT a; END"), fn("a integer", "SETOF integer", "ROWS 10", "BEGIN RETURN NEXT a; END"), "function public.f(a integer) rows"},
		{"function config", fn("a integer", "integer", "", "BEGIN RETURN a; END"), fn("a integer", "integer", "SET search_path = public", "BEGIN RETURN a; END"), "function public.f(a integer) config"},
		{"function privileges", fn("a integer", "integer", "", "BEGIN RETURN a; END"), fn("a integer", "integer", "", "BEGIN RETURN a; END") + "; REVOKE EXECUTE ON FUNCTION f FROM PUBLIC",
			"function public.f(a integer) acl"},
		{"function comment", fn("a integer", "integer", "", "BEGIN RETURN a; END"), fn("a integer", "integer", "", "BEGIN RETURN a; END") + "; COMMENT ON FUNCTION f IS 'identity'",
			"function public.f(a integer) comment"},
		{"body literal", fn("a integer", "text", "", `BEGIN RETURN E'it\'s'; END`), fn("a integer", "text", "", `BEGIN RETURN E'it\'z'; END`), "function public.f(a integer) body"},
		{"body formatting is not a difference", fn("a integer", "text", "", `BEGIN RETURN E'it\'s'; END`),
			fn("a integer", "text", "", "begin\n  -- the same\n  RETURN   E'it\\'s';\nEND"), ""},
		{"SQL-standard body literal", "CREATE FUNCTION h() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT 'a'; END",
			"CREATE FUNCTION h() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT 'b'; END", "function public.h() body"},
		{"other language's source", "CREATE FUNCTION ab(integer) RETURNS integer LANGUAGE internal AS 'int4abs'",
			"CREATE FUNCTION ab(integer) RETURNS integer LANGUAGE internal AS 'int4inc'", "function public.ab(integer) source"},
		{"procedure body", "CREATE PROCEDURE pr() LANGUAGE sql AS $$ SELECT 1 $$", "CREATE PROCEDURE pr() LANGUAGE sql AS $$ SELECT 2 $$", "procedure public.pr() body"},
		{"aggregate", "CREATE AGGREGATE s(integer) (sfunc = int4pl, stype = integer, initcond = '0')",
			"CREATE AGGREGATE s(integer) (sfunc = int4pl, stype = integer, initcond = '1')", "aggregate public.s(integer) aggregate"},

		// Triggers.
		{"trigger definition", trg("BEFORE UPDATE"), trg("BEFORE INSERT"), "trigger public.t.tg definition"},
		{"trigger enabled", trg("BEFORE UPDATE"), trg("BEFORE UPDATE") + "; ALTER TABLE t DISABLE TRIGGER tg", "trigger public.t.tg enabled"},
		{"trigger comment", trg("BEFORE UPDATE"), trg("BEFORE UPDATE") + "; COMMENT ON TRIGGER tg ON t IS 'x'", "trigger public.t.tg comment"},

		// Sequences.
		{"sequence increment", "CREATE SEQUENCE s", "CREATE SEQUENCE s INCREMENT 2", "sequence public.s increment"},
		{"sequence cache", "CREATE SEQUENCE s", "CREATE SEQUENCE s CACHE 10", "sequence public.s cache"},
		{"sequence cycle", "CREATE SEQUENCE s", "CREATE SEQUENCE s CYCLE", "sequence public.s cycle"},
		{"sequence maxvalue", "CREATE SEQUENCE s", "CREATE SEQUENCE s MAXVALUE 1000", "sequence public.s max"},
		{"sequence minvalue", "CREATE SEQUENCE s", "CREATE SEQUENCE s MINVALUE -5 START 1", "sequence public.s min"},
		{"sequence type", "CREATE SEQUENCE s AS integer", "CREATE SEQUENCE s AS bigint MAXVALUE 2147483647", "sequence public.s type"},
		{"sequence owner column", "CREATE SEQUENCE s", "CREATE SEQUENCE s OWNED BY t.n", "sequence public.s owned_by"},
		{"sequence privileges", "CREATE SEQUENCE s", "CREATE SEQUENCE s; GRANT USAGE ON SEQUENCE s TO fp_reader", "sequence public.s acl"},
		{"identity options", "CREATE TABLE u (id int GENERATED ALWAYS AS IDENTITY)", "CREATE TABLE u (id int GENERATED ALWAYS AS IDENTITY (START 10))", "sequence public.u_id_seq start"},

		// Types.
		{"enum label order", "CREATE TYPE e AS ENUM ('a', 'b')", "CREATE TYPE e AS ENUM ('b', 'a')", "enum type public.e labels"},
		{"enum label added", "CREATE TYPE e AS ENUM ('a', 'b')", "CREATE TYPE e AS ENUM ('a', 'b'); ALTER TYPE e ADD VALUE 'c' BEFORE 'a'", "enum type public.e labels"},
		{"domain base type", "CREATE DOMAIN d AS integer", "CREATE DOMAIN d AS bigint", "domain public.d base_type"},
		{"domain default", "CREATE DOMAIN d AS integer DEFAULT 1", "CREATE DOMAIN d AS integer DEFAULT 2", "domain public.d default"},
		{"domain not null", "CREATE DOMAIN d AS integer", "CREATE DOMAIN d AS integer NOT NULL", "domain public.d not_null"},
		{"domain collation", "CREATE DOMAIN d AS text", `CREATE DOMAIN d AS text COLLATE "C"`, "domain public.d collation"},
		{"domain check", "CREATE DOMAIN d AS integer CONSTRAINT pos CHECK (VALUE > 0)", "CREATE DOMAIN d AS integer CONSTRAINT pos CHECK (VALUE > 1)", "domain constraint public.d.pos definition"},
		{"domain check missing", "CREATE DOMAIN d AS integer CONSTRAINT pos CHECK (VALUE > 0)", "CREATE DOMAIN d AS integer", "domain constraint public.d.pos exists"},
		{"composite attribute order", "CREATE TYPE ct AS (a int, b text)", "CREATE TYPE ct AS (b text, a int)", "composite type public.ct attributes"},
		{"composite attribute type", "CREATE TYPE ct AS (a int, b text)", "CREATE TYPE ct AS (a bigint, b text)", "composite type public.ct attributes"},
		{"composite attribute comment", "CREATE TYPE ct AS (a int)", "CREATE TYPE ct AS (a int); COMMENT ON COLUMN ct.a IS 'x'", "composite type public.ct attributes"},
		{"range subtype", "CREATE TYPE r AS RANGE (subtype = integer)", "CREATE TYPE r AS RANGE (subtype = bigint)", "range type public.r range"},
		{"type privileges", "CREATE TYPE e AS ENUM ('a')", "CREATE TYPE e AS ENUM ('a'); REVOKE USAGE ON TYPE e FROM PUBLIC", "enum type public.e acl"},
		{"type comment", "CREATE TYPE e AS ENUM ('a')", "CREATE TYPE e AS ENUM ('a'); COMMENT ON TYPE e IS 'x'", "enum type public.e comment"},

		// Extensions: compared by name, schema and version, never by
		// the objects they own.
		{"extension", "", "CREATE EXTENSION citext", "extension citext exists"},
		{"extension version", "CREATE EXTENSION citext VERSION '1.4'", "CREATE EXTENSION citext", "extension citext version"},
		{"extension schema", "CREATE EXTENSION citext", "CREATE EXTENSION citext SCHEMA extra", "extension citext schema"},

		// Policies.
		{"policy expression", "CREATE POLICY p ON t USING (n > 0)", "CREATE POLICY p ON t USING (n > 1)", "policy public.t.p using"},
		{"policy check", "CREATE POLICY p ON t WITH CHECK (n > 0)", "CREATE POLICY p ON t WITH CHECK (n > 1)", "policy public.t.p with_check"},
		{"policy command", "CREATE POLICY p ON t FOR SELECT USING (true)", "CREATE POLICY p ON t FOR ALL USING (true)", "policy public.t.p command"},
		{"policy restrictive", "CREATE POLICY p ON t USING (true)", "CREATE POLICY p ON t AS RESTRICTIVE USING (true)", "policy public.t.p permissive"},
		{"policy roles", "CREATE POLICY p ON t TO fp_reader USING (true)", "CREATE POLICY p ON t TO fp_reader, fp_writer USING (true)", "policy public.t.p roles"},

		// Rules.
		{"rule definition", "CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING", "CREATE RULE r AS ON INSERT TO t DO ALSO NOTHING", "rule public.t.r definition"},
		{"rule enabled", "CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING", "CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING; ALTER TABLE t DISABLE RULE r", "rule public.t.r enabled"},

		// Extended statistics.
		{"statistics definition", "CREATE STATISTICS st (dependencies) ON id, n FROM t", "CREATE STATISTICS st (ndistinct) ON id, n FROM t", "statistics public.st definition"},
		{"statistics target", "CREATE STATISTICS st ON id, n FROM t", "CREATE STATISTICS st ON id, n FROM t; ALTER STATISTICS st SET STATISTICS 100", "statistics public.st target"},

		// Event triggers and default privileges (database-wide).
		{"event trigger tags", evt(""), evt("WHEN TAG IN ('CREATE TABLE')"), "event trigger et tags"},
		{"event trigger enabled", evt(""), evt("") + "; ALTER EVENT TRIGGER et DISABLE", "event trigger et enabled"},
		{"default privileges", "", "ALTER DEFAULT PRIVILEGES FOR ROLE fp_writer IN SCHEMA public GRANT SELECT ON TABLES TO fp_reader",
			"default privileges for fp_writer in public on tables exists"},
		{"default privileges grantee", "ALTER DEFAULT PRIVILEGES FOR ROLE fp_writer GRANT SELECT ON TABLES TO fp_reader",
			"ALTER DEFAULT PRIVILEGES FOR ROLE fp_writer GRANT INSERT ON TABLES TO fp_reader", "default privileges for fp_writer on tables acl"},

		// Comments on kinds without a query of their own.
		{"collation comment", `CREATE COLLATION co FROM "C"`, `CREATE COLLATION co FROM "C"; COMMENT ON COLLATION co IS 'x'`, "collation public.co comment"},

		// The same schema, built in another order.
		{"statement order", "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (a int REFERENCES a); CREATE INDEX bi ON b (a); CREATE VIEW va AS SELECT id FROM a",
			"CREATE TABLE a (id int PRIMARY KEY); CREATE VIEW va AS SELECT id FROM a; CREATE TABLE b (a int); CREATE INDEX bi ON b (a); ALTER TABLE b ADD FOREIGN KEY (a) REFERENCES a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffs := fingerprint.Compare(want.take(t, setup, tt.before), got.take(t, setup, tt.after))
			var keys []string
			for _, d := range diffs {
				keys = append(keys, d.Key)
			}
			var wantKeys []string
			if tt.key != "" {
				wantKeys = []string{tt.key}
			}
			if d := cmp.Diff(wantKeys, keys); d != "" {
				t.Errorf("differences (-want +got):\n%s\n%v", d, diffs)
			}
		})
	}
}

// fn writes CREATE FUNCTION f in PL/pgSQL.
func fn(args, result, attrs, body string) string {
	return "CREATE FUNCTION f(" + args + ") RETURNS " + result + " LANGUAGE plpgsql " + attrs + " AS $body$" + body + "$body$"
}

// trg writes a trigger tg on t with its function.
func trg(when string) string {
	return "CREATE FUNCTION tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$; " +
		"CREATE TRIGGER tg " + when + " ON t FOR EACH ROW EXECUTE FUNCTION tf()"
}

// evt writes an event trigger et with its function.
func evt(when string) string {
	return "CREATE FUNCTION ef() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$; " +
		"CREATE EVENT TRIGGER et ON ddl_command_end " + when + " EXECUTE FUNCTION ef()"
}

// What a difference says: the object, the attribute and both values; an
// object present on one side only is one line, its columns going with it.
func TestDifferenceString(t *testing.T) {
	want, got := newPrinter(t), newPrinter(t)
	diffs := fingerprint.Compare(
		want.take(t, setup, "CREATE FUNCTION g(integer) RETURNS integer LANGUAGE sql AS 'SELECT 1'; CREATE TABLE u (a int)"),
		got.take(t, setup, "ALTER TABLE t ALTER title TYPE varchar; CREATE VIEW v AS SELECT 1 AS one"))
	var lines []string
	for _, d := range diffs {
		lines = append(lines, d.String())
	}
	wantLines := []string{
		`column public.t.title: type: want "text", got "character varying"`,
		`function public.g(integer): missing`,
		`table public.u: missing`,
		`view public.v: unexpected`,
	}
	if d := cmp.Diff(wantLines, lines); d != "" {
		t.Errorf("Difference.String (-want +got):\n%s", d)
	}
}

// Two databases built by the project's own migrations have the same
// print, and it covers the project's table, columns, function and
// trigger; the revision table's schema is left out unless asked for.
func TestTakeProjectSchema(t *testing.T) {
	ctx := context.Background()
	var prints []fingerprint.Print
	for i := 0; i < 2; i++ {
		db, err := sql.Open("postgres", dbtest.Require(t, cluster).Migrated(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		p, err := fingerprint.Take(ctx, db, []string{"public"})
		if err != nil {
			t.Fatal(err)
		}
		prints = append(prints, p)
		if i == 0 {
			withRevisions, err := fingerprint.Take(ctx, db, []string{"public", "atlas_schema_revisions"})
			if err != nil {
				t.Fatal(err)
			}
			if d := fingerprint.Compare(p, withRevisions); len(d) == 0 {
				t.Error("listing atlas_schema_revisions changed nothing")
			}
		}
	}
	if d := fingerprint.Compare(prints[0], prints[1]); len(d) != 0 {
		t.Errorf("two migrated databases differ: %v", d)
	}
	for _, key := range []string{"table public.tasks exists", "column public.tasks.title type", "trigger public.tasks.tasks_set_updated_at enabled"} {
		if _, ok := prints[0][key]; !ok {
			t.Errorf("%s not in the print", key)
		}
	}
	var fn bool
	for key := range prints[0] {
		if strings.HasPrefix(key, "function public.set_updated_at(") && strings.HasSuffix(key, " body") {
			fn = true
		}
		if strings.Contains(key, "atlas_schema_revisions") {
			t.Errorf("%s: the revision table's schema was not asked for", key)
		}
	}
	if !fn {
		t.Error("no body of public.set_updated_at in the print")
	}
}

// Bad input: an error, not a partial print.
func TestTakeError(t *testing.T) {
	db, err := sql.Open("postgres", dbtest.Require(t, cluster).Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Close() // a closed pool fails every query
	p, err := fingerprint.Take(context.Background(), db, []string{"public"})
	if err == nil || p != nil || !strings.HasPrefix(err.Error(), "fingerprint: ") {
		t.Errorf("Take on a closed pool = %v, %v; want nil and a fingerprint error", p, err)
	}
}

// Compare's rules on prints made by hand: the lexer decides for bodies
// only; an object on one side only is one difference, without its
// attributes or the objects that belong to it.
func TestCompareRules(t *testing.T) {
	base := fingerprint.Print{
		"table public.t exists":             "true",
		"table public.t comment":            "",
		"column public.t.a exists":          "true",
		"column public.t.a type":            "integer",
		"column public.t.a parent":          "table public.t",
		"function public.f() exists":        "true",
		"function public.f() body":          "BEGIN RETURN 'x'; END",
		"function public.f() source":        "",
		"function public.g() exists":        "true",
		"function public.g() body":          "",
		"function public.g() source":        "int4abs",
		"collation public.co comment":       "x",
		"index public.i exists":             "true",
		"index public.i parent":             "table public.t",
		"index public.i definition":         "CREATE INDEX i ON t (a)",
		"sequence public.s exists":          "true",
		"sequence public.s increment":       "1",
		"default privileges x acl":          "fp_reader SELECT",
		"default privileges x exists":       "true",
		"event trigger et exists":           "true",
		"event trigger et enabled":          "O",
		"materialized view public.m exists": "true",
	}
	with := func(changes map[string]string) fingerprint.Print {
		p := fingerprint.Print{}
		for k, v := range base {
			p[k] = v
		}
		for k, v := range changes {
			if v == "-" {
				delete(p, k)
			} else {
				p[k] = v
			}
		}
		return p
	}
	tests := []struct {
		name    string
		changes map[string]string
		want    []string
	}{
		{"same", nil, nil},
		{"body layout", map[string]string{"function public.f() body": "begin\n  return 'x';\nend"}, nil},
		{"body literal", map[string]string{"function public.f() body": "BEGIN RETURN 'X'; END"},
			[]string{`function public.f(): body: want "BEGIN RETURN 'x'; END", got "BEGIN RETURN 'X'; END"`}},
		{"other language's source is exact", map[string]string{"function public.g() source": "INT4ABS"},
			[]string{`function public.g(): source: want "int4abs", got "INT4ABS"`}},
		{"table missing, with its column and index", map[string]string{
			"table public.t exists": "-", "table public.t comment": "-", "column public.t.a exists": "-",
			"column public.t.a type": "-", "column public.t.a parent": "-", "index public.i exists": "-",
			"index public.i parent": "-", "index public.i definition": "-"},
			[]string{"table public.t: missing"}},
		{"column unexpected", map[string]string{"column public.t.b exists": "true", "column public.t.b type": "text",
			"column public.t.b parent": "table public.t"},
			[]string{"column public.t.b: unexpected"}},
		{"comment gone", map[string]string{"collation public.co comment": "-"},
			[]string{`collation public.co: comment: want "x", got ""`}},
		{"attribute", map[string]string{"sequence public.s increment": "2"},
			[]string{`sequence public.s: increment: want "1", got "2"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range fingerprint.Compare(base, with(tt.changes)) {
				got = append(got, d.String())
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
