package atlasconf_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tasks/internal/atlasconf"
)

func env(t *testing.T, src, name string, vars map[string]string) (*atlasconf.Env, error) {
	t.Helper()
	f, err := atlasconf.Parse("atlas.hcl", []byte(src), func(k string) string { return vars[k] })
	if err != nil {
		return nil, err
	}
	return f.Env(name)
}

func TestProjectFile(t *testing.T) {
	f, err := atlasconf.Load("../../atlas.hcl", func(k string) string {
		return map[string]string{"DATABASE_URL": "postgres://u@db:5432/tasks"}[k]
	})
	if err != nil {
		t.Fatal(err)
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
		Migration: atlasconf.Migration{Dir: "file://migrations", LockTimeout: 10 * time.Second},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("env local (-want +got):\n%s", diff)
	}
}

func TestForms(t *testing.T) {
	for _, tc := range []struct {
		name, src, env string
		want           *atlasconf.Env
	}{
		{
			name: "plain src, all migration settings",
			src: `env "dev" {
  src = "file://schema.sql"
  url = "postgres://localhost/x"
  migration {
    dir = "file://db/migrations"
    format = atlas
    baseline = "20240101000000"
    exec_order = "linear_skip"
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
			name: "list src, variables, locals, interpolation",
			src: `variable "db" {
  type = string
  default = "app"
}
locals {
  host = "localhost:5432"
  url  = "postgres://${local.host}/${var.db}"
}
env "x" {
  src = ["ent://ent/schema", "file://extra.sql"]
  url = local.url
  dev = format("postgres://%s/dev", local.host)
}`,
			env: "x",
			want: &atlasconf.Env{Name: "x", URL: "postgres://localhost:5432/app", Dev: "postgres://localhost:5432/dev",
				Src:       []atlasconf.Source{{URL: "ent://ent/schema"}, {URL: "file://extra.sql"}},
				Migration: atlasconf.Migration{Dir: "file://migrations", LockTimeout: 10 * time.Second}},
		},
		{
			name: "unlabelled env takes the asked name; unknown blocks are ignored",
			src: `lint {
  destructive { error = true }
}
env {
  name = atlas.env
  url  = "postgres://h/${atlas.env}"
  diff {
    skip { drop_schema = true }
  }
}`,
			env:  "staging",
			want: &atlasconf.Env{Name: "staging", URL: "postgres://h/staging", Migration: atlasconf.Migration{Dir: "file://migrations", LockTimeout: 10 * time.Second}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := env(t, tc.src, tc.env, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, env, want string }{
		{"syntax", "env \"a\" {\n  url = \n}", "a", "atlas.hcl:2"},
		{"missing env", `env "a" {}` + "\n" + `env "b" {}`, "c", `no env "c" (envs: a, b)`},
		{"unknown data source", "data \"external_schema\" \"x\" {\n program = [\"x\"]\n}\nenv \"a\" {\n  src = data.external_schema.x.url\n}", "a", "atlas.hcl:5"},
		{"bad lock timeout", "env \"a\" {\n  migration {\n    lock_timeout = \"soon\"\n  }\n}", "a", "atlas.hcl:3,5-26: lock_timeout"},
		{"bad format", "env \"a\" {\n  migration {\n    format = \"golang-migrate\"\n  }\n}", "a", `migration format "golang-migrate" is not supported`},
		{"bad exec order", "env \"a\" {\n  migration {\n    exec_order = \"random\"\n  }\n}", "a", `unknown exec_order "random"`},
		{"variable without default", "variable \"x\" {\n  type = string\n}", "a", `variable "x" has no default`},
		{"empty composite", "data \"composite_schema\" \"app\" {\n}", "a", `composite_schema "app" has no schema blocks`},
		{"number url", "env \"a\" {\n  url = 5\n}", "a", "url must be a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env(t, tc.src, tc.env, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want it to contain %q", err, tc.want)
			}
		})
	}
}
