package diff_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	entschema "entgo.io/ent/dialect/sql/schema"

	"tasks/internal/diff"
)

// The cache returns what Ent's loader returns: the same tables, columns,
// indexes and foreign keys, for schemas with edges, indexes and enums.
func TestEntCacheSameTables(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	for _, name := range []string{"base", "index", "two", "forty"} {
		dir := mustAbs(filepath.Join("testdata/ent", name, "schema"))
		fresh, err := diff.LoadEntCache(ctx, dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := diff.LoadEntCache(ctx, dir, cache); err != nil { // fills the cache
			t.Fatal(err)
		}
		cached, err := diff.LoadEntCache(ctx, dir, cache)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fresh, cached) {
			t.Errorf("%s: the cached tables differ from the loader's", name)
		}
	}
	if n := entries(t, cache); n != 4 {
		t.Errorf("cache holds %d entries, want one per schema (4)", n)
	}
}

// An entry is read back (a planted change shows through), and any edit of
// the schema package makes a new key: a stale entry is never served.
func TestEntCacheFollowsSource(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	// Inside the module, so that the package builds like the real ones.
	pkg, err := os.MkdirTemp(mustAbs("testdata/ent"), "cachetest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pkg) })
	src, err := os.ReadFile("testdata/ent/base/schema/task.go")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(pkg, "task.go")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := diff.LoadEntCache(ctx, pkg, cache); err != nil {
		t.Fatal(err)
	}
	ents, _ := filepath.Glob(filepath.Join(cache, "ent", "*.json"))
	if len(ents) != 1 {
		t.Fatalf("cache entries after the first load: %d, want 1", len(ents))
	}
	b, _ := os.ReadFile(ents[0])
	planted := bytes.ReplaceAll(b, []byte(`"name":"title"`), []byte(`"name":"heading"`))
	if bytes.Equal(planted, b) {
		t.Fatalf("the entry does not hold the title field:\n%s", b)
	}
	os.WriteFile(ents[0], planted, 0o644)
	tables, err := diff.LoadEntCache(ctx, pkg, cache)
	if err != nil {
		t.Fatal(err)
	}
	if !hasColumn(tables, "tasks", "heading") {
		t.Fatalf("the second load did not read the cache entry: columns %v", columns(tables, "tasks"))
	}

	edited := bytes.Replace(src, []byte(`field.Bool("done")`), []byte(`field.Int("priority").Default(0),
		field.Bool("done")`), 1)
	if err := os.WriteFile(file, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	tables, err = diff.LoadEntCache(ctx, pkg, cache)
	if err != nil {
		t.Fatal(err)
	}
	if !hasColumn(tables, "tasks", "priority") || !hasColumn(tables, "tasks", "title") {
		t.Fatalf("after an edit the load returned a stale schema: columns %v", columns(tables, "tasks"))
	}
	if n := entries(t, cache); n != 2 {
		t.Errorf("cache entries after the edit: %d, want 2", n)
	}
}

func entries(t *testing.T, cache string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(cache, "ent", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

func columns(tables []*entschema.Table, table string) []string {
	var cs []string
	for _, t := range tables {
		if t.Name == table {
			for _, c := range t.Columns {
				cs = append(cs, c.Name)
			}
		}
	}
	return cs
}

func hasColumn(tables []*entschema.Table, table, column string) bool {
	for _, c := range columns(tables, table) {
		if c == column {
			return true
		}
	}
	return false
}
