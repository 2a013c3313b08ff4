// Package atlasconf reads an Atlas project file (atlas.hcl) with Atlas's
// own HCL evaluator (ariga.io/atlas/schemahcl), configured the way the
// Atlas CLI configures it: input variables, locals, getenv, file functions,
// the atlas.env variable, env blocks (labelled, or unlabelled with
// `name = atlas.env`), their migration and lint blocks, a global lint
// block, and the composite_schema data source that names the desired
// state, and the diff block (Atlas's concurrent_index plus this tool's
// online settings). Blocks the versioned workflow does not use (test,
// format…) are accepted and ignored, as the CLI's commands that do not
// use them do.
package atlasconf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"ariga.io/atlas/schemahcl"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// File is a project file, parsed; its envs are evaluated on demand, so a
// broken env does not break the others.
type File struct {
	path   string
	src    []byte
	getenv func(string) string
	vars   map[string]cty.Value
	envs   []string
}

// Env is one evaluated env block.
type Env struct {
	Name string
	// URL is the target database.
	URL string
	// Dev is the dev database used to compute diffs.
	Dev string
	// Src is the desired state, in order: the composite_schema's members
	// when src names one, else the URLs src lists.
	Src []Source
	// Schemas lists the env's `schemas` attribute, if any.
	Schemas []string
	// Migration holds the migration block's settings.
	Migration Migration
	// Lint holds the lint settings: the env's lint block, completed by
	// the file's global one as the Atlas CLI does.
	Lint Lint
	// Diff holds the diff block's settings (see Diff); the zero value
	// when the file has none.
	Diff Diff
}

// Source is one member of the desired state.
type Source struct {
	// Schema is the database schema the source describes: the label of
	// its composite_schema member ("" when src is a plain URL).
	Schema string
	// URL locates the source: ent://path, file://path.sql, …
	URL string
}

// Migration is an env's migration block.
type Migration struct {
	Dir             string        // default file://migrations
	Format          string        // "" or "atlas"
	Baseline        string        // version to baseline a non-clean database at
	ExecOrder       string        // linear, linear-skip or non-linear
	LockTimeout     time.Duration // default 10s
	RevisionsSchema string
}

// Lint is the lint configuration of an env.
type Lint struct {
	// Latest is lint's `latest` (how many of the newest files to lint);
	// 0 when unset.
	Latest int
	// Rules is the lint block itself (analyzer blocks such as
	// `destructive { error = false }`), in the form Atlas's analyzer
	// constructors read (destructive.New, sqlcheck.AnalyzerFor). Never nil.
	Rules *schemahcl.Resource
}

// Option configures Load and Parse.
type Option func(*File)

// WithVars sets input variables, as the Atlas CLI's --var does; they win
// over the variables' defaults.
func WithVars(vars map[string]string) Option {
	return func(f *File) {
		for k, v := range vars {
			f.vars[k] = cty.StringVal(v)
		}
	}
}

// compositeScheme marks the value of data.composite_schema.<name>.url so
// that src can be resolved back to the composite's members.
const compositeScheme = "composite_schema://"

// Load parses the project file at path. getenv serves the getenv()
// function (pass os.Getenv, or a fixed map in tests).
func Load(path string, getenv func(string) string, opts ...Option) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("atlasconf: %w", err)
	}
	return Parse(path, src, getenv, opts...)
}

// Parse is Load for a file already read; path is used in messages and
// as the base of file() and fileset().
func Parse(path string, src []byte, getenv func(string) string, opts ...Option) (*File, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	f := &File{path: path, src: src, getenv: getenv, vars: map[string]cty.Value{}}
	for _, o := range opts {
		o(f)
	}
	hf, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("atlasconf: %w", diags)
	}
	for _, b := range hf.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "env" && len(b.Labels) == 1 && !slices.Contains(f.envs, b.Labels[0]) {
			f.envs = append(f.envs, b.Labels[0])
		}
	}
	sort.Strings(f.envs)
	return f, nil
}

// Envs returns the names of the file's labelled env blocks, sorted.
func (f *File) Envs() []string { return append([]string(nil), f.envs...) }

// The spec-tagged shapes schemahcl reads the file into; the tags are the
// attribute and block names of Atlas's project file.
type (
	projectSpec struct {
		Envs []*envSpec `spec:"env"`
		Lint *lintSpec  `spec:"lint"`
		Diff *diffSpec  `spec:"diff"`
	}
	envSpec struct {
		Name      string         `spec:"name,name"`
		URL       string         `spec:"url"`
		DevURL    string         `spec:"dev"`
		Schemas   []string       `spec:"schemas"`
		Migration *migrationSpec `spec:"migration"`
		Lint      *lintSpec      `spec:"lint"`
		Diff      *diffSpec      `spec:"diff"`
		// src, and the blocks this tool does not read (format, test…).
		schemahcl.DefaultExtension
	}
	migrationSpec struct {
		Dir             string `spec:"dir"`
		Format          string `spec:"format"`
		Baseline        string `spec:"baseline"`
		ExecOrder       string `spec:"exec_order"`
		LockTimeout     string `spec:"lock_timeout"`
		RevisionsSchema string `spec:"revisions_schema"`
		schemahcl.DefaultExtension
	}
	lintSpec struct {
		Latest int `spec:"latest"`
		// The CLI's report settings, read so that they are not taken
		// for analyzer settings; this tool has no use for them.
		Log    string `spec:"log"`
		Format string `spec:"format"`
		Review string `spec:"review"`
		Git    struct {
			Dir  string `spec:"dir"`
			Base string `spec:"base"`
		} `spec:"git"`
		// Analyzer blocks.
		schemahcl.DefaultExtension
	}
	// srcSpec is the newer `schema { src = … }` form of an env's src.
	srcSpec struct {
		schemahcl.DefaultExtension
	}
)

// Env evaluates the env block called name. An unlabelled `env { name =
// atlas.env }` block matches any name, as in Atlas; a labelled one wins
// over it.
func (f *File) Env(name string) (*Env, error) {
	p := hclparse.NewParser()
	hf, diags := p.ParseHCL(f.src, f.path)
	if diags.HasErrors() {
		return nil, fmt.Errorf("atlasconf: %w", diags)
	}
	if !selectEnv(hf, name) {
		envs := "none"
		if len(f.envs) > 0 {
			envs = strings.Join(f.envs, ", ")
		}
		return nil, fmt.Errorf("atlasconf: %s: no env %q (envs: %s)", f.path, name, envs)
	}
	base, err := filepath.Abs(filepath.Dir(f.path))
	if err != nil {
		return nil, fmt.Errorf("atlasconf: %w", err)
	}
	composites := map[string][]Source{}
	state := schemahcl.New(f.options(name, base, composites)...)
	var spec projectSpec
	if err := state.Eval(p, &spec, f.vars); err != nil {
		if positioned(err) {
			return nil, fmt.Errorf("atlasconf: %w", err)
		}
		return nil, fmt.Errorf("atlasconf: %s: %w", f.path, err)
	}
	var picked []*envSpec
	for _, e := range spec.Envs {
		if e.Name == name {
			picked = append(picked, e)
		}
	}
	switch len(picked) {
	case 0:
		return nil, fmt.Errorf("atlasconf: %s: no env %q (envs: %s)", f.path, name, strings.Join(f.envs, ", "))
	case 1:
	default:
		return nil, fmt.Errorf("atlasconf: %s: env %q is defined %d times; this tool runs one env at a time", f.path, name, len(picked))
	}
	return f.env(picked[0], spec.Lint, spec.Diff, composites)
}

// options configures the evaluator as the Atlas CLI does for its project
// file, with composite_schema as the one data source this tool runs.
func (f *File) options(env, base string, composites map[string][]Source) []schemahcl.Option {
	opts := []schemahcl.Option{
		schemahcl.WithContext(context.Background()),
		schemahcl.WithDataSource("composite_schema", compositeSource(composites)),
		// Bare words the CLI accepts: format = atlas, exec_order = LINEAR_SKIP…
		schemahcl.WithScopedEnums("env.migration.format", "atlas", "golang-migrate", "goose", "flyway", "liquibase", "dbmate"),
		schemahcl.WithScopedEnums("env.migration.exec_order", "LINEAR", "LINEAR_SKIP", "NON_LINEAR"),
		schemahcl.WithScopedEnums("env.lint.review", "ALWAYS", "WARNING", "ERROR"),
		schemahcl.WithScopedEnums("lint.review", "ALWAYS", "WARNING", "ERROR"),
		schemahcl.WithVariables(map[string]cty.Value{
			"atlas": cty.ObjectVal(map[string]cty.Value{"env": cty.StringVal(env)}),
		}),
		schemahcl.WithFunctions(map[string]function.Function{
			"file":    schemahcl.MakeFileFunc(base),
			"glob":    schemahcl.MakeGlobFunc(base),
			"fileset": schemahcl.MakeFileSetFunc(base),
			"getenv":  getenvFunc(f.getenv),
		}),
	}
	// The Atlas CLI's other data sources read programs, clouds or
	// databases this tool does not; a file may still declare them, and
	// only an env that uses one fails, naming it.
	for _, kind := range []string{"sql", "external", "runtimevar", "template_dir", "remote_dir",
		"remote_schema", "hcl_schema", "external_schema", "aws_rds_token", "gcp_cloudsql_token"} {
		opts = append(opts, schemahcl.WithDataSource(kind, unsupportedSource(kind)))
	}
	return opts
}

// env converts an evaluated env block.
func (f *File) env(e *envSpec, global *lintSpec, globalDiff *diffSpec, composites map[string][]Source) (*Env, error) {
	env := &Env{
		Name:      e.Name,
		URL:       e.URL,
		Dev:       e.DevURL,
		Schemas:   e.Schemas,
		Migration: Migration{Dir: "file://migrations", LockTimeout: 10 * time.Second},
	}
	var err error
	if env.Src, err = sources(e, composites); err != nil {
		return nil, fmt.Errorf("atlasconf: %s: env %q: %w", f.path, e.Name, err)
	}
	if m := e.Migration; m != nil {
		if m.Dir != "" {
			env.Migration.Dir = m.Dir
		}
		env.Migration.Baseline = m.Baseline
		env.Migration.RevisionsSchema = m.RevisionsSchema
		switch m.Format {
		case "", "atlas":
			env.Migration.Format = m.Format
		default:
			return nil, fmt.Errorf("atlasconf: %s: env %q: migration format %q is not supported (only atlas)", f.path, e.Name, m.Format)
		}
		// The CLI lower-cases the enum and takes '_' for '-'.
		switch order := strings.ReplaceAll(strings.ToLower(m.ExecOrder), "_", "-"); order {
		case "", "linear", "linear-skip", "non-linear":
			env.Migration.ExecOrder = order
		default:
			return nil, fmt.Errorf("atlasconf: %s: env %q: unknown exec_order %q (LINEAR, LINEAR_SKIP or NON_LINEAR)", f.path, e.Name, m.ExecOrder)
		}
		if m.LockTimeout != "" {
			d, err := time.ParseDuration(m.LockTimeout)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("atlasconf: %s: env %q: lock_timeout %q: want a duration such as 10s", f.path, e.Name, m.LockTimeout)
			}
			env.Migration.LockTimeout = d
		}
	}
	env.Lint = mergeLint(e.Lint, global)
	if env.Diff, err = readDiff(e.Diff, globalDiff); err != nil {
		return nil, fmt.Errorf("atlasconf: %s: env %q: %w", f.path, e.Name, err)
	}
	return env, nil
}

// mergeLint completes an env's lint block with the global one, as the
// Atlas CLI does: the env's analyzer settings replace the global ones
// when it has any, and its latest wins when set.
func mergeLint(env, global *lintSpec) Lint {
	l := Lint{Rules: &schemahcl.Resource{}}
	if global != nil {
		l.Latest = global.Latest
		l.Rules = global.Remain()
	}
	if env != nil {
		if env.Latest != 0 {
			l.Latest = env.Latest
		}
		if r := env.Remain(); len(r.Attrs) > 0 || len(r.Children) > 0 {
			l.Rules = r
		}
	}
	return l
}

// sources evaluates src (or the newer schema { src }): a URL, a list of
// URLs, a composite_schema's url, or a mix.
func sources(e *envSpec, composites map[string][]Source) ([]Source, error) {
	attr, ok := e.Attr("src")
	if !ok {
		if r, found := e.Remain().Resource("schema"); found {
			var s srcSpec
			if err := r.As(&s); err != nil {
				return nil, err
			}
			attr, ok = s.Attr("src")
		}
	}
	if !ok {
		return nil, nil
	}
	var urls []string
	switch t := attr.V.Type(); {
	case t == cty.String:
		urls = []string{attr.V.AsString()}
	case t.IsListType() && t.ElementType() == cty.String:
		for it := attr.V.ElementIterator(); it.Next(); {
			_, v := it.Element()
			urls = append(urls, v.AsString())
		}
	default:
		return nil, fmt.Errorf("src must be a URL or a list of URLs, got %s", t.FriendlyName())
	}
	var srcs []Source
	for _, u := range urls {
		if name, ok := strings.CutPrefix(u, compositeScheme); ok {
			srcs = append(srcs, composites[name]...)
			continue
		}
		srcs = append(srcs, Source{URL: u})
	}
	return srcs, nil
}

// compositeSource is the composite_schema data source: its members are
// `schema "name" { url = "…" }` blocks, kept in order; its value is an
// object whose url names it for sources.
func compositeSource(composites map[string][]Source) schemahcl.BlockFunc {
	return func(_ context.Context, ectx *hcl.EvalContext, b *hclsyntax.Block) (cty.Value, error) {
		name := b.Labels[1]
		if len(b.Body.Attributes) > 0 {
			for _, a := range b.Body.Attributes {
				return cty.NilVal, fmt.Errorf("%s: data.composite_schema.%s: unexpected attribute %q (it takes schema blocks)", a.SrcRange, name, a.Name)
			}
		}
		var members []Source
		for _, s := range b.Body.Blocks {
			if s.Type != "schema" || len(s.Labels) != 1 {
				return cty.NilVal, fmt.Errorf(`%s: data.composite_schema.%s: takes only blocks of the form schema "name" { url = "..." }`, s.DefRange(), name)
			}
			a, ok := s.Body.Attributes["url"]
			if !ok {
				return cty.NilVal, fmt.Errorf("%s: data.composite_schema.%s: schema %q has no url", s.DefRange(), name, s.Labels[0])
			}
			v, diags := a.Expr.Value(ectx)
			if diags.HasErrors() {
				return cty.NilVal, diags
			}
			if v.IsNull() || !v.IsKnown() || v.Type() != cty.String || v.AsString() == "" {
				return cty.NilVal, fmt.Errorf("%s: data.composite_schema.%s: schema %q: url must be a non-empty string", a.SrcRange, name, s.Labels[0])
			}
			members = append(members, Source{Schema: s.Labels[0], URL: v.AsString()})
		}
		if len(members) == 0 {
			return cty.NilVal, fmt.Errorf("%s: data.composite_schema.%s has no schema blocks", b.DefRange(), name)
		}
		composites[name] = members
		return cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal(compositeScheme + name)}), nil
	}
}

func unsupportedSource(kind string) schemahcl.BlockFunc {
	return func(_ context.Context, _ *hcl.EvalContext, b *hclsyntax.Block) (cty.Value, error) {
		return cty.NilVal, fmt.Errorf("%s: data.%s.%s: the %s data source is not supported by this tool (composite_schema is)",
			b.DefRange(), kind, b.Labels[1], kind)
	}
}

// selectEnv keeps, of the file's env blocks, the ones the named env
// evaluates, as the Atlas CLI does: the blocks labelled name, else the
// unlabelled ones whose name is atlas.env. It reports whether any is left.
func selectEnv(hf *hcl.File, name string) bool {
	body := hf.Body.(*hclsyntax.Body)
	var labelled, dynamic, other []*hclsyntax.Block
	for _, b := range body.Blocks {
		switch {
		case b.Type != "env":
			other = append(other, b)
		case len(b.Labels) == 1 && b.Labels[0] == name:
			labelled = append(labelled, b)
		case len(b.Labels) == 0 && isAtlasEnv(b.Body.Attributes["name"]):
			dynamic = append(dynamic, b)
		}
	}
	switch {
	case len(labelled) > 0:
		body.Blocks = append(other, labelled...)
	case len(dynamic) > 0:
		body.Blocks = append(other, dynamic...)
	default:
		return false
	}
	return true
}

// isAtlasEnv reports whether the attribute is `name = atlas.env`.
func isAtlasEnv(a *hclsyntax.Attribute) bool {
	if a == nil {
		return false
	}
	x, ok := a.Expr.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(x.Traversal) != 2 || x.Traversal.RootName() != "atlas" {
		return false
	}
	attr, ok := x.Traversal[1].(hcl.TraverseAttr)
	return ok && attr.Name == "env"
}

// getenvFunc is getenv() reading the environment through getenv.
func getenvFunc(getenv func(string) string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "key", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(getenv(args[0].AsString())), nil
		},
	})
}

// positioned reports whether err is HCL diagnostics that name the file
// and line they are about, so that the file is not named twice.
func positioned(err error) bool {
	var diags hcl.Diagnostics
	if !errors.As(err, &diags) || len(diags) == 0 {
		return false
	}
	for _, d := range diags {
		if d.Subject == nil {
			return false
		}
	}
	return true
}
