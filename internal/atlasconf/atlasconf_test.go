package atlasconf_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ariga.io/atlas/schemahcl"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"tasks/internal/atlasconf"
)

func env(t *testing.T, src, name string, vars map[string]string, opts ...atlasconf.Option) (*atlasconf.Env, error) {
	t.Helper()
	f, err := atlasconf.Parse("atlas.hcl", []byte(src), func(k string) string { return vars[k] }, opts...)
	if err != nil {
		return nil, err
	}
	return f.Env(name)
}

// The lint rules are compared separately (rules()); the rest with cmp.
var ignoreRules = cmpopts.IgnoreFields(atlasconf.Lint{}, "Rules")

func defaults() atlasconf.Migration {
	return atlasconf.Migration{Dir: "file://migrations", LockTimeout: 10 * time.Second}
}

func TestProjectFile(t *testing.T) {
	f, err := atlasconf.Load("../../atlas.hcl", func(k string) string {
		return map[string]string{"DATABASE_URL": "postgres://u@db:5432/tasks"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"local"}, f.Envs()); d != "" {
		t.Fatalf("envs (-want +got):\n%s", d)
	}
	got, err := f.Env("local")
	if err != nil {
		t.Fatal(err)
	}
	want := &atlasconf.Env{
		Name: "local",
		URL:  "postgres://u@db:5432/tasks",
		Dev:  "docker://postgres/15/dev?search_path=public",
		Src: []atlasconf.Source{
			{Schema: "public", URL: "ent://ent/schema"},
			{Schema: "public", URL: "file://schema.sql"},
		},
		Migration: defaults(),
		Diff: atlasconf.Diff{ConcurrentCreate: true, ConcurrentDrop: true, OnlineConstraints: true,
			LockTimeout: 500 * time.Millisecond},
	}
	if diff := cmp.Diff(want, got, ignoreRules, ignoreExtra); diff != "" {
		t.Fatalf("env local (-want +got):\n%s", diff)
	}
}

func TestForms(t *testing.T) {
	for _, tc := range []struct {
		name, src, env string
		vars           map[string]string
		opts           []atlasconf.Option
		want           *atlasconf.Env
	}{
		{
			name: "plain src, all migration settings, bare-word enums",
			src: `env "dev" {
  src = "file://schema.sql"
  url = "postgres://localhost/x"
  migration {
    dir = "file://db/migrations"
    format = atlas
    baseline = "20240101000000"
    exec_order = LINEAR_SKIP
    lock_timeout = "3s"
    revisions_schema = "public"
  }
}`,
			env: "dev",
			want: &atlasconf.Env{Name: "dev", URL: "postgres://localhost/x", Src: []atlasconf.Source{{URL: "file://schema.sql"}},
				Migration: atlasconf.Migration{Dir: "file://db/migrations", Format: "atlas", Baseline: "20240101000000",
					ExecOrder: "linear-skip", LockTimeout: 3 * time.Second, RevisionsSchema: "public"}},
		},
		{
			name: "list src, variables, locals, interpolation, functions",
			src: `variable "db" {
  type = string
  default = "app"
}
variable "port" {
  type = number
  default = 5432
}
locals {
  host = "localhost:${var.port}"
  url  = "postgres://${local.host}/${var.db}"
}
env "x" {
  src = ["ent://ent/schema", "file://extra.sql"]
  url = local.url
  dev = format("postgres://%s/%s", local.host, lower("DEV"))
  schemas = ["public", "audit"]
}`,
			env: "x",
			want: &atlasconf.Env{Name: "x", URL: "postgres://localhost:5432/app", Dev: "postgres://localhost:5432/dev",
				Src:       []atlasconf.Source{{URL: "ent://ent/schema"}, {URL: "file://extra.sql"}},
				Schemas:   []string{"public", "audit"},
				Migration: defaults()},
		},
		{
			name: "input variables win over defaults and are converted",
			src: `variable "db" {
  type = string
  default = "app"
}
variable "port" {
  type = number
}
env "x" {
  url = "postgres://h:${var.port + 1}/${var.db}"
}`,
			env:  "x",
			opts: []atlasconf.Option{atlasconf.WithVars(map[string]string{"db": "other", "port": "6000"})},
			want: &atlasconf.Env{Name: "x", URL: "postgres://h:6001/other", Migration: defaults()},
		},
		{
			name: "getenv",
			src: `env "ci" {
  url = getenv("DATABASE_URL")
  dev = "postgres://${getenv("PGHOST")}/dev"
}`,
			env:  "ci",
			vars: map[string]string{"DATABASE_URL": "postgres://db/tasks", "PGHOST": "pg"},
			want: &atlasconf.Env{Name: "ci", URL: "postgres://db/tasks", Dev: "postgres://pg/dev", Migration: defaults()},
		},
		{
			name: "composite_schema with several schemas, in order, mixed with a plain URL",
			src: `data "composite_schema" "app" {
  schema "public" {
    url = "ent://ent/schema"
  }
  schema "audit" {
    url = "file://audit.sql"
  }
  schema "public" {
    url = "file://schema.sql"
  }
}
env "multi" {
  src = [data.composite_schema.app.url, "file://extra.sql"]
}`,
			env: "multi",
			want: &atlasconf.Env{Name: "multi", Src: []atlasconf.Source{
				{Schema: "public", URL: "ent://ent/schema"},
				{Schema: "audit", URL: "file://audit.sql"},
				{Schema: "public", URL: "file://schema.sql"},
				{URL: "file://extra.sql"},
			}, Migration: defaults()},
		},
		{
			name: "schema block src; unused data sources of the Atlas CLI are accepted",
			src: `data "external_schema" "orm" {
  program = ["npm", "run", "schema"]
}
env "s" {
  schema {
    src = "file://schema.sql"
  }
}`,
			env:  "s",
			want: &atlasconf.Env{Name: "s", Src: []atlasconf.Source{{URL: "file://schema.sql"}}, Migration: defaults()},
		},
		{
			name: "unlabelled env takes the asked name, with its diff block over the global one; test and other envs are ignored",
			src: `diff {
  skip {
    drop_schema = true
  }
}
env "other" {
  url = data.external_schema.missing.url
}
env {
  name = atlas.env
  url  = "postgres://h/${atlas.env}"
  diff {
    concurrent_index {
      create = true
    }
  }
}`,
			env: "staging",
			want: &atlasconf.Env{Name: "staging", URL: "postgres://h/staging", Migration: defaults(),
				Diff: atlasconf.Diff{ConcurrentCreate: true}},
		},
		{
			name: "global lint latest, env lint overrides",
			src: `lint {
  latest = 3
  review = ERROR
}
env "a" {
  lint {
    latest = 2
  }
}`,
			env:  "a",
			want: &atlasconf.Env{Name: "a", Migration: defaults(), Lint: atlasconf.Lint{Latest: 2}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := env(t, tc.src, tc.env, tc.vars, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, ignoreRules, ignoreExtra); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

// errorSetting reads one analyzer's `error` setting the way Atlas's
// analyzer constructors do.
func errorSetting(t *testing.T, rules *schemahcl.Resource, analyzer string) string {
	t.Helper()
	r, ok := rules.Resource(analyzer)
	if !ok {
		return "unset"
	}
	var o struct {
		Error *bool `spec:"error"`
		schemahcl.DefaultExtension
	}
	if err := r.As(&o); err != nil {
		t.Fatal(err)
	}
	if o.Error == nil {
		return "unset"
	}
	if *o.Error {
		return "true"
	}
	return "false"
}

func TestLintRules(t *testing.T) {
	src := `lint {
  destructive {
    error = false
  }
  data_depend {
    error = true
  }
}
env "inherits" {}
env "report_settings_only" {
  lint {
    review = WARNING
    log    = "{{ json . }}"
    git {
      base = "main"
    }
  }
}
env "own" {
  lint {
    incompatible {
      error = true
    }
    updated_at {
      skip = true
    }
  }
}`
	for _, tc := range []struct {
		env  string
		want map[string]string
	}{
		{"inherits", map[string]string{"destructive": "false", "data_depend": "true", "incompatible": "unset"}},
		{"report_settings_only", map[string]string{"destructive": "false", "data_depend": "true", "incompatible": "unset"}},
		{"own", map[string]string{"destructive": "unset", "data_depend": "unset", "incompatible": "true"}},
	} {
		t.Run(tc.env, func(t *testing.T) {
			e, err := env(t, src, tc.env, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for name := range tc.want {
				got[name] = errorSetting(t, e.Lint.Rules, name)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
	e, err := env(t, src, "own", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := e.Lint.Rules.Resource("updated_at")
	if !ok {
		t.Fatal("updated_at block missing from the env's lint rules")
	}
	if a, ok := r.Attr("skip"); !ok || a.V.True() != true {
		t.Fatalf("updated_at.skip = %v; want true", a)
	}
}

func TestFileFunction(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "url.txt"), []byte("postgres://from-file/db"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "atlas.hcl")
	if err := os.WriteFile(path, []byte(`env "f" {
  url = file("url.txt")
}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := atlasconf.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.Env("f")
	if err != nil {
		t.Fatal(err)
	}
	if e.URL != "postgres://from-file/db" {
		t.Fatalf("url = %q; want the file's contents (read relative to atlas.hcl)", e.URL)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, env, want string }{
		{"syntax", "env \"a\" {\n  url = \n}", "a", "atlas.hcl:2"},
		{"missing env", `env "a" {}` + "\n" + `env "b" {}`, "c", `no env "c" (envs: a, b)`},
		{"used unsupported data source", "data \"external_schema\" \"x\" {\n program = [\"x\"]\n}\nenv \"a\" {\n  src = data.external_schema.x.url\n}", "a",
			"data.external_schema.x: the external_schema data source is not supported by this tool"},
		{"unknown data source", "data \"nope\" \"x\" {}\nenv \"a\" {}", "a", `missing data source handler for "nope"`},
		{"bad lock timeout", "env \"a\" {\n  migration {\n    lock_timeout = \"soon\"\n  }\n}", "a", `lock_timeout "soon": want a duration`},
		{"bad format", "env \"a\" {\n  migration {\n    format = goose\n  }\n}", "a", `migration format "goose" is not supported`},
		{"bad exec order", "env \"a\" {\n  migration {\n    exec_order = \"random\"\n  }\n}", "a", `unknown exec_order "random"`},
		{"unknown bare word", "env \"a\" {\n  migration {\n    exec_order = RANDOM\n  }\n}", "a", "atlas.hcl:3"},
		{"variable without value", "variable \"x\" {\n  type = string\n}\nenv \"a\" {}", "a", `missing value for required variable "x"`},
		{"empty composite", "data \"composite_schema\" \"app\" {\n}\nenv \"a\" {\n  src = data.composite_schema.app.url\n}", "a", `data.composite_schema.app has no schema blocks`},
		{"composite member without url", "data \"composite_schema\" \"app\" {\n  schema \"public\" {}\n}\nenv \"a\" {\n  src = data.composite_schema.app.url\n}", "a", `schema "public" has no url`},
		{"number src", "env \"a\" {\n  src = 5\n}", "a", "src must be a URL or a list of URLs"},
		{"twice", "env \"a\" {}\nenv \"a\" {}", "a", `env "a" is defined 2 times`},
		{"undefined local", "env \"a\" {\n  url = local.nope\n}", "a", "atlas.hcl:2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env(t, tc.src, tc.env, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "atlasconf: ") {
				t.Fatalf("err = %v; want the package prefix", err)
			}
		})
	}
}
