package diff

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/entc/gen"
	"entgo.io/ent/entc/load"
)

// Ent's loader type-checks the schema package, then compiles and runs a
// program that prints the schemas as JSON: about a second and a half
// each time, most of a diff with nothing to change. Its output depends
// only on the package's code, so it is cached under the package's Go build
// ID, which hashes the package's files, its dependencies' and the build
// configuration: any edit makes a new key, and a stale answer cannot be
// read. (A schema that reads files at run time, other than by go:embed,
// is not covered; MIGRATE_CACHE=off turns the cache off.)

// entCacheFormat names the layout of a cache entry; change it when the
// layout changes.
const entCacheFormat = "ent-spec-1"

// entSpec is a cache entry: Ent's loader output.
type entSpec struct {
	PkgPath string            `json:"pkg_path"`
	Schemas []json.RawMessage `json:"schemas"`
	Pos     []string          `json:"pos"` // each schema's position, not in its JSON
}

// LoadEnt loads the Ent schema package in dir with Ent's loader and
// returns the tables Ent's migration would create.
func LoadEnt(ctx context.Context, dir string) ([]*entschema.Table, error) {
	return loadEnt(ctx, dir, entCacheDir())
}

// entCacheDir is where loader results are kept: MIGRATE_CACHE when set
// ("off" for nowhere), else the user's cache directory.
func entCacheDir() string {
	switch d := os.Getenv("MIGRATE_CACHE"); d {
	case "off":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(base, "tasks-migrate")
	default:
		return d
	}
}

// loadEnt is LoadEnt with the cache in cacheDir ("" for none). The cache
// is an optimization only: when it cannot be read or written, Ent's loader
// runs as without it.
func loadEnt(ctx context.Context, dir, cacheDir string) ([]*entschema.Table, error) {
	var file string
	if cacheDir != "" {
		if key, err := entCacheKey(ctx, dir); err == nil {
			file = filepath.Join(cacheDir, "ent", key+".json")
			if spec, err := readEntSpec(file); err == nil {
				return entTables(dir, spec)
			}
		}
	}
	spec, err := (&load.Config{Path: dir}).Load()
	if err != nil {
		return nil, fmt.Errorf("diff: load Ent schema %s: %w", dir, err)
	}
	if file != "" {
		writeEntSpec(file, spec)
	}
	return entTables(dir, spec)
}

// entCacheKey is the cache key of the schema package in dir: its build ID
// as `go list -export` reports it (compiling it if needed, which Ent's
// loader would do anyway).
func entCacheKey(ctx context.Context, dir string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "list", "-export", "-f", "{{.BuildID}}", dir)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", err
	}
	id := strings.TrimSpace(out.String())
	if id == "" {
		return "", fmt.Errorf("no build ID for %s", dir)
	}
	sum := sha256.Sum256([]byte(entCacheFormat + "\x00" + dir + "\x00" + id))
	return hex.EncodeToString(sum[:]), nil
}

func readEntSpec(file string) (*load.SchemaSpec, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var e entSpec
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	if len(e.Pos) != len(e.Schemas) || e.PkgPath == "" {
		return nil, fmt.Errorf("%s: malformed cache entry", file)
	}
	spec := &load.SchemaSpec{PkgPath: e.PkgPath}
	for i, raw := range e.Schemas {
		s, err := load.UnmarshalSchema(raw)
		if err != nil {
			return nil, err
		}
		s.Pos = e.Pos[i]
		spec.Schemas = append(spec.Schemas, s)
	}
	return spec, nil
}

// writeEntSpec stores spec in file, atomically (a concurrent reader sees
// the whole entry or none); failures only lose the cache.
func writeEntSpec(file string, spec *load.SchemaSpec) {
	e := entSpec{PkgPath: spec.PkgPath}
	for _, s := range spec.Schemas {
		raw, err := json.Marshal(s)
		if err != nil {
			return
		}
		e.Schemas = append(e.Schemas, raw)
		e.Pos = append(e.Pos, s.Pos)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".entry-*")
	if err != nil {
		return
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

// entTables builds Ent's graph from a loaded spec and returns its tables,
// then its views (ent.View), as Ent's own schema command lists them.
func entTables(dir string, spec *load.SchemaSpec) ([]*entschema.Table, error) {
	g, err := gen.NewGraph(&gen.Config{Package: spec.PkgPath}, spec.Schemas...)
	if err != nil {
		return nil, fmt.Errorf("diff: Ent schema %s: %w", dir, err)
	}
	tables, err := g.Tables()
	if err != nil {
		return nil, fmt.Errorf("diff: Ent schema %s: %w", dir, err)
	}
	views, err := g.Views()
	if err != nil {
		return nil, fmt.Errorf("diff: Ent schema %s: %w", dir, err)
	}
	return append(tables, views...), nil
}
