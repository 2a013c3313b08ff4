package migrate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseConcurrentIndex(t *testing.T) {
	for _, tc := range []struct {
		stmt        string
		name, table string
		probe       string // the statement on the probe table
		ok          bool
	}{
		{stmt: `CREATE INDEX CONCURRENTLY "t_id" ON "t" ("id");`, name: "t_id", table: `"t"`,
			probe: `CREATE INDEX  "t_id" ON P ("id");`, ok: true},
		{stmt: "create unique index concurrently if not exists T_Id on only public.t using btree (lower(v)) where id > 0",
			name: "t_id", table: "public.t", probe: "create unique index  if not exists T_Id on only P using btree (lower(v)) where id > 0", ok: true},
		{stmt: `CREATE INDEX CONCURRENTLY "Mixed" ON "s"."T" (a)`, name: "Mixed", table: `"s"."T"`, probe: `CREATE INDEX  "Mixed" ON P (a)`, ok: true},
		{stmt: "-- a comment\nCREATE INDEX CONCURRENTLY i ON t (a);", name: "i", table: "t", probe: "-- a comment\nCREATE INDEX  i ON P (a);", ok: true},
		{stmt: "CREATE INDEX i ON t (a)"},                   // not concurrent
		{stmt: "CREATE INDEX CONCURRENTLY ON t (a)"},        // no name: PostgreSQL picks one
		{stmt: "DROP INDEX CONCURRENTLY i"},                 // not a create
		{stmt: "SELECT 'CREATE INDEX CONCURRENTLY i ON t'"}, // a literal
	} {
		ci, ok := parseConcurrentIndex(tc.stmt)
		if ok != tc.ok || ci.name != tc.name || ci.table != tc.table {
			t.Errorf("parseConcurrentIndex(%q) = %+v, %v; want name %q, table %q, %v", tc.stmt, ci, ok, tc.name, tc.table, tc.ok)
			continue
		}
		if ok {
			if probe := tc.stmt[:ci.concAt] + tc.stmt[ci.concEnd:ci.tableAt] + "P" + tc.stmt[ci.tableEnd:]; probe != tc.probe {
				t.Errorf("probe of %q = %q; want %q", tc.stmt, probe, tc.probe)
			}
		}
	}
}

func TestSessionSettingsAndLockedTable(t *testing.T) {
	stmts := []string{
		"SET lock_timeout = '500ms';",
		"set session statement_timeout to 0;",
		"SET LOCAL lock_timeout = '1s';",
		"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
		"SET CONSTRAINTS ALL DEFERRED;",
		"RESET search_path;",
		"SELECT set_config('x.y', '1', false);",
		"ALTER TABLE t ADD COLUMN a int;",
	}
	want := []string{"SET lock_timeout = '500ms';", "set session statement_timeout to 0;", "RESET search_path;"}
	if d := cmp.Diff(want, sessionSettings(stmts)); d != "" {
		t.Errorf("sessionSettings (-want +got):\n%s", d)
	}
	for stmt, want := range map[string]string{
		`ALTER TABLE IF EXISTS ONLY "public"."tasks" ADD COLUMN a int`: `"public"."tasks"`,
		"CREATE UNIQUE INDEX CONCURRENTLY i ON ONLY t (a)":             "t",
		"CREATE INDEX ON t (a)":                                        "t",
		"LOCK TABLE t IN ACCESS EXCLUSIVE MODE":                        "t",
		"TRUNCATE t":                                                   "t",
		"DROP TABLE IF EXISTS t":                                       "t",
		"DROP INDEX i":                                                 "",
		"SELECT 1":                                                     "",
	} {
		if got := lockedTable(stmt); got != want {
			t.Errorf("lockedTable(%q) = %q; want %q", stmt, got, want)
		}
	}
}

func TestDroppedIndex(t *testing.T) {
	for stmt, want := range map[string]string{
		`DROP INDEX CONCURRENTLY IF EXISTS "public"."t_id";`: `"public"."t_id"`,
		"drop index i, j": "i",
		"DROP TABLE t":    "",
	} {
		if got := droppedIndex(stmt); got != want {
			t.Errorf("droppedIndex(%q) = %q; want %q", stmt, got, want)
		}
	}
}

// Each wait lies between half and all of the doubled delay, capped.
func TestRetryWait(t *testing.T) {
	p := retryPolicy{retries: 8, delay: 100 * time.Millisecond, maxDelay: time.Second}
	full := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000, 1000}
	for n, d := range full {
		d *= time.Millisecond
		for range 50 {
			if w := p.wait(n + 1); w < d/2 || w > d {
				t.Fatalf("wait(%d) = %s; want within [%s, %s]", n+1, w, d/2, d)
			}
		}
	}
}

func TestSameIndex(t *testing.T) {
	a := "CREATE UNIQUE INDEX t_v ON public.t USING btree (lower(v)) WHERE (id > 0)"
	for b, want := range map[string]bool{
		"CREATE UNIQUE INDEX t_v ON pg_temp_3.migrate_index_probe USING btree (lower(v)) WHERE (id > 0)": true,
		"CREATE INDEX t_v ON pg_temp_3.migrate_index_probe USING btree (lower(v)) WHERE (id > 0)":        false,
		"CREATE UNIQUE INDEX t_v ON pg_temp_3.migrate_index_probe USING btree (lower(v))":                false,
		"CREATE UNIQUE INDEX t_v ON ONLY public.t USING btree (lower(v)) WHERE (id > 0)":                 false,
		"CREATE UNIQUE INDEX t_v ON pg_temp_3.migrate_index_probe USING hash (lower(v)) WHERE (id > 0)":  false,
	} {
		if got := sameIndex(a, b); got != want {
			t.Errorf("sameIndex(%q, %q) = %v; want %v", a, b, got, want)
		}
	}
}

// TestWordsLiterals: E'…' escapes its quote, block comments nest, and
// dollar quotes hold any text: none may end early and expose the rest
// as words.
func TestWordsLiterals(t *testing.T) {
	for src, want := range map[string][]string{
		`SELECT E'\' LOCK', e'it\'s', E'\\', a`: {"select", "'", ",", "'", ",", "'", ",", "a"},
		"SELECT /* a /* b */ LOCK */ a":         {"select", "a"},
		"SELECT $f$ $$ LOCK $f$, 'x''y', \"Q\"": {"select", "'", ",", "'", ",", "Q"},
		"SELECT e, 'x'":                         {"select", "e", ",", "'"},
	} {
		var got []string
		for _, w := range words(src) {
			got = append(got, w.text)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("words(%q) (-want +got):\n%s", src, d)
		}
	}
}
