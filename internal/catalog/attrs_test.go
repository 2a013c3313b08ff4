package catalog_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tasks/internal/catalog"
	"tasks/internal/dbtest"
	"tasks/internal/pgtemp"
)

// attrCase is a pair of databases built from common plus a, and common
// plus b, that differ only in the attribute under test. {r1} and {r2}
// stand for two roles made for the test (the second needs quoting).
type attrCase struct {
	name      string
	common    string
	a, b      string
	wantKinds []catalog.Kind // kinds of the objects that differ
}

// The statements the diff plans for A → B, applied to A, make A's
// schema equal B's: once by the model, once by pg_dump, which reads the
// catalog its own way. Each case runs both ways (create and drop, or an
// alter each way).
func TestAttributes(t *testing.T) {
	c := dbtest.Require(t, cluster)
	r1, r2 := testRoles(t, c)
	const table = "CREATE TABLE t (id int NOT NULL, a int, b text, CONSTRAINT t_id_key UNIQUE (id));\n"
	const trigger = table + `CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg();
`
	cases := []attrCase{
		{name: "rls enable and force", common: table,
			b:         "ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY",
			wantKinds: []catalog.Kind{catalog.KindRLS}},
		{name: "rls enabled vs forced", common: table,
			a:         "ALTER TABLE t ENABLE ROW LEVEL SECURITY",
			b:         "ALTER TABLE t FORCE ROW LEVEL SECURITY",
			wantKinds: []catalog.Kind{catalog.KindRLS}},
		{name: "policy using a function", common: table + "CREATE FUNCTION allowed(i int) RETURNS bool LANGUAGE sql STABLE AS 'SELECT i > 0';\n",
			b:         "ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON t AS RESTRICTIVE FOR SELECT TO {r1}, {r2} USING (allowed(id))",
			wantKinds: []catalog.Kind{catalog.KindRLS, catalog.KindPolicy}},
		{name: "policy altered", common: table,
			a:         "CREATE POLICY p ON t USING (id > 0)",
			b:         "CREATE POLICY p ON t TO {r1} USING (id > 1) WITH CHECK (a IS NOT NULL)",
			wantKinds: []catalog.Kind{catalog.KindPolicy}},
		{name: "policy command changed", common: table,
			a:         "CREATE POLICY p ON t FOR INSERT WITH CHECK (id > 0)",
			b:         "CREATE POLICY p ON t FOR DELETE USING (id > 0)",
			wantKinds: []catalog.Kind{catalog.KindPolicy}},
		{name: "table grants", common: table,
			b:         "GRANT SELECT, INSERT ON t TO {r1}; GRANT UPDATE, DELETE ON t TO {r2} WITH GRANT OPTION",
			wantKinds: []catalog.Kind{catalog.KindPrivileges}},
		{name: "table grants changed", common: table,
			a:         "GRANT SELECT ON t TO {r1} WITH GRANT OPTION; GRANT ALL ON t TO {r2}",
			b:         "GRANT SELECT, DELETE ON t TO {r1}; GRANT TRUNCATE ON t TO PUBLIC",
			wantKinds: []catalog.Kind{catalog.KindPrivileges}},
		{name: "column grants", common: table,
			b:         "GRANT SELECT (id, b), UPDATE (b) ON t TO {r1}",
			wantKinds: []catalog.Kind{catalog.KindPrivileges}},
		{name: "function execute revoked from public", common: table + "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS 'SELECT x';\nCREATE PROCEDURE pr() LANGUAGE sql AS 'SELECT 1';\n",
			b:         "REVOKE EXECUTE ON FUNCTION f(int) FROM PUBLIC; GRANT EXECUTE ON FUNCTION f(int) TO {r2}; REVOKE ALL ON PROCEDURE pr() FROM PUBLIC",
			wantKinds: []catalog.Kind{catalog.KindPrivileges}},
		{name: "default privileges in a schema", common: table,
			b:         "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, UPDATE ON TABLES TO {r1}; ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO {r2} WITH GRANT OPTION",
			wantKinds: []catalog.Kind{catalog.KindDefaultACL}},
		{name: "default privileges changed", common: table,
			a:         "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO {r1}; ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO {r1}",
			b:         "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {r1} WITH GRANT OPTION; ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON TYPES TO {r2}",
			wantKinds: []catalog.Kind{catalog.KindDefaultACL}},
		{name: "default privileges database-wide and for a role", common: table,
			b:         "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC; ALTER DEFAULT PRIVILEGES FOR ROLE {r1} GRANT SELECT ON TABLES TO {r2}; ALTER DEFAULT PRIVILEGES FOR ROLE {r2} IN SCHEMA public GRANT DELETE ON TABLES TO {r1}",
			wantKinds: []catalog.Kind{catalog.KindDefaultACL}},
		{name: "comments", common: trigger + "CREATE POLICY p ON t USING (true);\nCREATE STATISTICS st ON a, id FROM t;\nCREATE PROCEDURE pr(x text) LANGUAGE sql AS 'SELECT 1';\n",
			b: `COMMENT ON FUNCTION trg() IS 'keeps t';
COMMENT ON PROCEDURE pr(text) IS 'does it';
COMMENT ON TRIGGER t_trg ON t IS 'it''s the trigger';
COMMENT ON POLICY p ON t IS 'everyone';
COMMENT ON CONSTRAINT t_id_key ON t IS 'one id';
COMMENT ON STATISTICS st IS 'correlated'`,
			wantKinds: []catalog.Kind{catalog.KindComment}},
		{name: "comment changed", common: trigger,
			a:         "COMMENT ON FUNCTION trg() IS 'old'",
			b:         "COMMENT ON FUNCTION trg() IS 'new'",
			wantKinds: []catalog.Kind{catalog.KindComment}},
		{name: "storage parameters", common: table,
			b:         "ALTER TABLE t SET (fillfactor = 70, autovacuum_enabled = false, toast.autovacuum_enabled = off)",
			wantKinds: []catalog.Kind{catalog.KindTableOptions}},
		{name: "storage parameters changed", common: table,
			a:         "ALTER TABLE t SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.2)",
			b:         "ALTER TABLE t SET (fillfactor = 80, toast.autovacuum_enabled = false)",
			wantKinds: []catalog.Kind{catalog.KindTableOptions}},
		{name: "replica identity full", common: table,
			b:         "ALTER TABLE t REPLICA IDENTITY FULL",
			wantKinds: []catalog.Kind{catalog.KindReplica}},
		{name: "replica identity nothing vs index", common: table,
			a:         "ALTER TABLE t REPLICA IDENTITY NOTHING",
			b:         "ALTER TABLE t REPLICA IDENTITY USING INDEX t_id_key",
			wantKinds: []catalog.Kind{catalog.KindReplica}},
		{name: "column statistics target", common: table,
			b:         "ALTER TABLE t ALTER COLUMN a SET STATISTICS 500",
			wantKinds: []catalog.Kind{catalog.KindColumnStats}},
		{name: "column statistics target changed", common: table,
			a:         "ALTER TABLE t ALTER COLUMN a SET STATISTICS 500",
			b:         "ALTER TABLE t ALTER COLUMN a SET STATISTICS 50",
			wantKinds: []catalog.Kind{catalog.KindColumnStats}},
		{name: "column storage, compression and options", common: table,
			b:         "ALTER TABLE t ALTER COLUMN b SET STORAGE EXTERNAL, ALTER COLUMN b SET COMPRESSION pglz; ALTER TABLE t ALTER COLUMN a SET (n_distinct = -0.5, n_distinct_inherited = 7)",
			wantKinds: []catalog.Kind{catalog.KindColumnStorage, catalog.KindCompression, catalog.KindColumnOptions}},
		{name: "column storage and options changed", common: table,
			a:         "ALTER TABLE t ALTER COLUMN b SET STORAGE EXTERNAL; ALTER TABLE t ALTER COLUMN a SET (n_distinct = -0.5, n_distinct_inherited = 7)",
			b:         "ALTER TABLE t ALTER COLUMN b SET STORAGE MAIN; ALTER TABLE t ALTER COLUMN a SET (n_distinct = 3)",
			wantKinds: []catalog.Kind{catalog.KindColumnStorage, catalog.KindColumnOptions}},
		{name: "materialized view column attributes", common: table + "CREATE MATERIALIZED VIEW mv AS SELECT id, b FROM t;\n",
			b:         "ALTER MATERIALIZED VIEW mv ALTER COLUMN b SET STORAGE MAIN, ALTER COLUMN b SET COMPRESSION pglz, ALTER COLUMN id SET STATISTICS 70, ALTER COLUMN id SET (n_distinct = 2)",
			wantKinds: []catalog.Kind{catalog.KindColumnStorage, catalog.KindCompression, catalog.KindColumnStats, catalog.KindColumnOptions}},
		{name: "view column default", common: table + "CREATE VIEW v AS SELECT id, b FROM t;\n",
			b:         "ALTER VIEW v ALTER COLUMN b SET DEFAULT 'it''s'",
			wantKinds: []catalog.Kind{catalog.KindViewDefault}},
		{name: "identity and serial sequences' grants and comments",
			common:    "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, s serial);\n",
			b:         "GRANT USAGE ON SEQUENCE t_id_seq TO {r1}; GRANT SELECT ON SEQUENCE t_s_seq TO {r2}; COMMENT ON SEQUENCE t_id_seq IS 'ids'",
			wantKinds: []catalog.Kind{catalog.KindPrivileges, catalog.KindComment}},
		{name: "extended statistics", common: table,
			b:         "CREATE STATISTICS st (ndistinct, dependencies) ON a, id FROM t; ALTER STATISTICS st SET STATISTICS 50",
			wantKinds: []catalog.Kind{catalog.KindStatistics}},
		{name: "extended statistics changed", common: table,
			a:         "CREATE STATISTICS st (ndistinct) ON a, id FROM t",
			b:         "CREATE STATISTICS st (mcv) ON a, (b || 'x') FROM t",
			wantKinds: []catalog.Kind{catalog.KindStatistics}},
		{name: "extended statistics target", common: table + "CREATE STATISTICS st ON a, id FROM t;\n",
			b:         "ALTER STATISTICS st SET STATISTICS 10",
			wantKinds: []catalog.Kind{catalog.KindStatistics}},
		{name: "trigger disabled", common: trigger,
			b:         "ALTER TABLE t DISABLE TRIGGER t_trg",
			wantKinds: []catalog.Kind{catalog.KindTriggerState}},
		{name: "trigger replica vs always", common: trigger,
			a:         "ALTER TABLE t ENABLE REPLICA TRIGGER t_trg",
			b:         "ALTER TABLE t ENABLE ALWAYS TRIGGER t_trg",
			wantKinds: []catalog.Kind{catalog.KindTriggerState}},
		{name: "deferrable unique", common: table,
			b:         "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a) DEFERRABLE INITIALLY DEFERRED",
			wantKinds: []catalog.Kind{catalog.KindConstraint}},
		{name: "unique made deferrable", common: table,
			a:         "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a)",
			b:         "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a) DEFERRABLE",
			wantKinds: []catalog.Kind{catalog.KindConstraint}},
		{name: "deferrable foreign key and exclusion", common: table + "CREATE TABLE u (id int PRIMARY KEY DEFERRABLE, t int);\n",
			b: `ALTER TABLE u ADD CONSTRAINT u_t_fkey FOREIGN KEY (t) REFERENCES t (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE t ADD CONSTRAINT t_b_excl EXCLUDE (b WITH =) DEFERRABLE`,
			wantKinds: []catalog.Kind{catalog.KindConstraint}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sub := strings.NewReplacer("{r1}", r1, "{r2}", r2)
			common, a, b := sub.Replace(tc.common), sub.Replace(tc.a), sub.Replace(tc.b)
			checkMigrates(t, c, common, a, b, tc.wantKinds)
		})
	}
}

// Objects equal to PostgreSQL's defaults, spelled out, are no objects.
func TestAttributesAtDefaults(t *testing.T) {
	c := dbtest.Require(t, cluster)
	r1, _ := testRoles(t, c)
	const table = "CREATE TABLE t (id int, a int);\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
	defaults := strings.ReplaceAll(`GRANT SELECT ON t TO {r1}; REVOKE SELECT ON t FROM {r1};
GRANT EXECUTE ON FUNCTION f() TO {r1}; REVOKE EXECUTE ON FUNCTION f() FROM {r1};
GRANT SELECT (a) ON t TO {r1}; REVOKE SELECT (a) ON t FROM {r1};
ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t DISABLE ROW LEVEL SECURITY;
ALTER TABLE t REPLICA IDENTITY DEFAULT;
ALTER TABLE t SET (fillfactor = 70); ALTER TABLE t RESET (fillfactor);
ALTER TABLE t ALTER COLUMN a SET STATISTICS -1;
COMMENT ON FUNCTION f() IS 'x'; COMMENT ON FUNCTION f() IS NULL`, "{r1}", r1)
	plain := openDB(t, c.Empty(t), table)
	spelled := openDB(t, c.Empty(t), table+defaults)
	if stmts := plan(t, plain, spelled); len(stmts) > 0 {
		t.Errorf("defaults spelled out differ from the defaults: %q", stmts)
	}
}

// checkMigrates builds databases A (common+a) and B (common+b), then
// plans A → B as the diff does and applies it to A, and B → A applied to
// B: each ends equal to the other's original, by the model and by
// pg_dump (which reads the catalog its own way).
func checkMigrates(t *testing.T, c *dbtest.Cluster, common, a, b string, kinds []catalog.Kind) {
	t.Helper()
	ctx := context.Background()
	aURL, bURL := c.Empty(t), c.Empty(t)
	aDB, bDB := openDB(t, aURL, common+a), openDB(t, bURL, common+b)
	mA, mB := inspect(t, ctx, aDB), inspect(t, ctx, bDB)
	changed := map[catalog.Kind]bool{}
	for _, id := range union(mA, mB) {
		f, g := mA.Objects[id], mB.Objects[id]
		if f == nil || g == nil || f.Def != g.Def {
			changed[kindOf(f, g)] = true
		}
	}
	want := map[catalog.Kind]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	if diff := cmp.Diff(want, changed); diff != "" {
		t.Errorf("kinds of the objects that differ (-want +got):\n%s", diff)
	}
	aDump, bDump := dump(t, aURL), dump(t, bURL)
	// Both plans before either is applied: each reads the other's
	// database.
	ab, ba := plan(t, aDB, bDB), plan(t, bDB, aDB)
	for _, d := range []struct {
		name  string
		db    *sql.DB
		url   string
		to    *catalog.Model
		stmts []string
		want  string
	}{
		{"A to B", aDB, aURL, mB, ab, bDump},
		{"B to A", bDB, bURL, mA, ba, aDump},
	} {
		stmts := d.stmts
		for _, s := range stmts {
			if _, err := d.db.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %s: %v\nplan: %q", d.name, s, err, stmts)
			}
		}
		if diff := cmp.Diff(defs(d.to), defs(inspect(t, ctx, d.db))); diff != "" {
			t.Errorf("%s: model after the plan %q (-want +got):\n%s", d.name, stmts, diff)
		}
		if diff := cmp.Diff(d.want, dump(t, d.url)); diff != "" {
			t.Errorf("%s: pg_dump after the plan %q (-want +got):\n%s", d.name, stmts, diff)
		}
	}
}

// plan is what the diff writes to turn the database cur into des.
func plan(t *testing.T, cur, des *sql.DB) []string {
	t.Helper()
	stmts, err := planned(cur, des, []string{"public"})
	if err != nil {
		t.Fatal(err)
	}
	return stmts
}

func kindOf(a, b *catalog.Object) catalog.Kind {
	if a != nil {
		return a.Kind
	}
	return b.Kind
}

func union(a, b *catalog.Model) []catalog.ObjectID {
	seen := map[catalog.ObjectID]bool{}
	for _, m := range []*catalog.Model{a, b} {
		for id := range m.Objects {
			seen[id] = true
		}
	}
	ids := make([]catalog.ObjectID, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	catalog.SortIDs(ids)
	return ids
}

func defs(m *catalog.Model) map[string]string {
	d := map[string]string{}
	for id, o := range m.Objects {
		d[id.String()] = o.Def
	}
	return d
}

func inspect(t *testing.T, ctx context.Context, q catalog.Querier) *catalog.Model {
	t.Helper()
	m, err := catalog.Inspect(ctx, q, []string{"public"}, "public")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// openDB opens the database at url and runs setup on it.
func openDB(t *testing.T, url, setup string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// One connection: the search_path the inspectors need holds for
	// every query.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(setup); err != nil {
		t.Fatalf("%s: %v", setup, err)
	}
	return db
}

// dump is pg_dump's schema-only rendering of the database at url.
func dump(t *testing.T, url string) string {
	t.Helper()
	bin, err := pgtemp.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(bin, "pg_dump"), "--schema-only", "--dbname", url).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, `\restrict`), strings.HasPrefix(l, `\unrestrict`):
			// a random key per run
		case strings.HasPrefix(l, "WITH (") && strings.HasSuffix(l, ");"):
			// Storage parameters in the order they were set, which
			// means nothing to PostgreSQL.
			opts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(l, "WITH ("), ");"), ", ")
			sort.Strings(opts)
			keep = append(keep, "WITH ("+strings.Join(opts, ", ")+");")
		default:
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// testRoles makes two roles for one test, the second with a name that
// needs quoting, and drops them after the test's databases. Roles are
// cluster-wide, so the names are unique per test.
func testRoles(t *testing.T, c *dbtest.Cluster) (string, string) {
	t.Helper()
	admin := openDB(t, c.Empty(t), "")
	suffix := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano())
	r1, r2 := catalog.QuoteIdent("kb_reader_"+suffix), catalog.QuoteIdent("KB writer "+suffix)
	if _, err := admin.Exec("CREATE ROLE " + r1 + "; CREATE ROLE " + r2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP ROLE " + r1 + "; DROP ROLE " + r2); err != nil {
			t.Error(err)
		}
	})
	return r1, r2
}
