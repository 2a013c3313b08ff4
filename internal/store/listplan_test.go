package store_test

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"tasks/internal/store"
)

// TestFilteredListsUseTheIndex plans the list statements as a prepared
// statement's generic plan (the plan PostgreSQL settles on after a few
// executions) on 200,000 tasks, none done: each filter reads its page
// from the (done, id) index, not by walking the primary key past every
// row that does not match, which is what "done = $1" planned generically
// does.
func TestFilteredListsUseTheIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a table")
	}
	db, err := sql.Open("postgres", cluster.Migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one session for the SET and the PREPAREs
	for _, q := range []string{
		`INSERT INTO tasks (title) SELECT 'seed ' || i FROM generate_series(1, 200000) i`,
		`VACUUM ANALYZE tasks`,
		`SET plan_cache_mode = force_generic_plan`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	plan := func(name, q string, args string) (root map[string]any) {
		t.Helper()
		if _, err := db.Exec(`PREPARE ` + name + ` AS ` + q); err != nil {
			t.Fatal(err)
		}
		var js string
		if err := db.QueryRow(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ` + name + `(` + args + `)`).Scan(&js); err != nil {
			t.Fatal(err)
		}
		var plans []map[string]any
		if err := json.Unmarshal([]byte(js), &plans); err != nil {
			t.Fatal(err)
		}
		return plans[0]["Plan"].(map[string]any)
	}
	// scanned is how many rows the plan's scans read, kept or filtered out.
	var scanned func(n map[string]any) float64
	scanned = func(n map[string]any) float64 {
		total := 0.0
		if strings.Contains(n["Node Type"].(string), "Scan") {
			total += n["Actual Rows"].(float64)
			if f, ok := n["Rows Removed by Filter"].(float64); ok {
				total += f
			}
		}
		if kids, ok := n["Plans"].([]any); ok {
			for _, k := range kids {
				total += scanned(k.(map[string]any))
			}
		}
		return total
	}
	for _, tc := range []struct {
		name, q string
	}{
		{"plain", store.ListTasks},
		{"done", store.ListDoneTasks},
		{"not_done", store.ListNotDoneTasks},
	} {
		p := plan(tc.name, tc.q, "9223372036854775807, 21")
		if n := scanned(p); n > 100 {
			b, _ := json.MarshalIndent(p, "", " ")
			t.Errorf("%s: the generic plan reads %.0f rows for a page of 21:\n%s", tc.name, n, b)
		}
	}
	// What the single statement with the filter as a parameter did.
	old := `SELECT "id" FROM "tasks" WHERE "done" = $1 AND "id" < $2 ORDER BY "id" DESC LIMIT $3`
	if n := scanned(plan("parameter", old, "true, 9223372036854775807, 21")); n < 100000 {
		t.Logf("done = $1 no longer walks the table in a generic plan (%.0f rows); the split statements may be unneeded", n)
	}
}
