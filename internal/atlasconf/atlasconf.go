// Package atlasconf reads an Atlas project file (atlas.hcl): its env
// blocks, and the composite_schema data sources they name as their desired
// state. It understands the subset of the Atlas CLI's language that the
// versioned workflow needs (envs, migration settings, variables with
// defaults, locals, getenv) and reports anything it cannot evaluate with
// its position, instead of guessing.
package atlasconf

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// File is a parsed project file.
type File struct {
	path       string
	body       *hclsyntax.Body
	vars       map[string]cty.Value
	composites map[string][]Source
	fn         map[string]function.Function
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
	// Migration holds the migration block's settings.
	Migration Migration
}

// Source is one member of the desired state.
type Source struct {
	// Schema is the database schema the source describes ("" when src
	// is a plain URL).
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

// compositeScheme marks the value of data.composite_schema.<name>.url so
// that src can be resolved back to the composite's members.
const compositeScheme = "composite_schema://"

// Load parses the project file at path. getenv serves the getenv()
// function (pass os.Getenv, or a fixed map in tests).
func Load(path string, getenv func(string) string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("atlasconf: %w", err)
	}
	return Parse(path, src, getenv)
}

// Parse is Load for a file already read; path is used in messages.
func Parse(path string, src []byte, getenv func(string) string) (*File, error) {
	hf, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("atlasconf: %w", diags)
	}
	f := &File{
		path:       path,
		body:       hf.Body.(*hclsyntax.Body),
		vars:       map[string]cty.Value{},
		composites: map[string][]Source{},
		fn:         functions(getenv),
	}
	ctx := &hcl.EvalContext{Variables: f.vars, Functions: f.fn}

	// Variables take their defaults; locals may use them; data sources may
	// use both. Envs are evaluated on demand, so a broken env does not
	// break the others.
	vars := map[string]cty.Value{}
	for _, b := range f.body.Blocks {
		if b.Type != "variable" {
			continue
		}
		if len(b.Labels) != 1 {
			return nil, blockErr(b, "variable needs one label (its name)")
		}
		def, ok := b.Body.Attributes["default"]
		if !ok {
			return nil, blockErr(b, fmt.Sprintf("variable %q has no default; this tool does not take --var", b.Labels[0]))
		}
		v, diags := def.Expr.Value(ctx)
		if diags.HasErrors() {
			return nil, fmt.Errorf("atlasconf: %w", diags)
		}
		vars[b.Labels[0]] = v
	}
	f.vars["var"] = cty.ObjectVal(vars)

	locals := map[string]cty.Value{}
	for _, b := range f.body.Blocks {
		if b.Type != "locals" {
			continue
		}
		for _, a := range sortedAttrs(b.Body) {
			f.vars["local"] = cty.ObjectVal(locals)
			v, diags := a.Expr.Value(ctx)
			if diags.HasErrors() {
				return nil, fmt.Errorf("atlasconf: %w", diags)
			}
			locals[a.Name] = v
		}
	}
	f.vars["local"] = cty.ObjectVal(locals)

	data := map[string]map[string]cty.Value{}
	for _, b := range f.body.Blocks {
		if b.Type != "data" {
			continue
		}
		if len(b.Labels) != 2 {
			return nil, blockErr(b, "data needs two labels (kind and name)")
		}
		kind, name := b.Labels[0], b.Labels[1]
		if kind != "composite_schema" {
			// Other data sources (external_schema, sql, …) are Atlas
			// features this tool does not run; an env that uses one fails
			// when it is evaluated, naming the reference.
			continue
		}
		srcs, err := composite(ctx, b)
		if err != nil {
			return nil, err
		}
		f.composites[name] = srcs
		if data[kind] == nil {
			data[kind] = map[string]cty.Value{}
		}
		data[kind][name] = cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal(compositeScheme + name)})
	}
	dv := map[string]cty.Value{}
	for k, m := range data {
		dv[k] = cty.ObjectVal(m)
	}
	f.vars["data"] = cty.ObjectVal(dv)
	return f, nil
}

func composite(ctx *hcl.EvalContext, b *hclsyntax.Block) ([]Source, error) {
	var srcs []Source
	for _, s := range b.Body.Blocks {
		if s.Type != "schema" || len(s.Labels) != 1 {
			return nil, blockErr(s, `composite_schema takes only blocks of the form schema "name" { url = "..." }`)
		}
		u, err := stringAttr(ctx, s.Body, "url")
		if err != nil {
			return nil, err
		}
		if u == "" {
			return nil, blockErr(s, fmt.Sprintf("schema %q of composite_schema %q has no url", s.Labels[0], b.Labels[1]))
		}
		srcs = append(srcs, Source{Schema: s.Labels[0], URL: u})
	}
	if len(srcs) == 0 {
		return nil, blockErr(b, fmt.Sprintf("composite_schema %q has no schema blocks", b.Labels[1]))
	}
	return srcs, nil
}

// Envs returns the names of the file's labelled env blocks, sorted.
func (f *File) Envs() []string {
	var names []string
	for _, b := range f.body.Blocks {
		if b.Type == "env" && len(b.Labels) == 1 {
			names = append(names, b.Labels[0])
		}
	}
	sort.Strings(names)
	return names
}

// Env evaluates the env block called name. An unlabelled `env { name =
// atlas.env }` block matches any name, as in Atlas.
func (f *File) Env(name string) (*Env, error) {
	var block *hclsyntax.Block
	for _, b := range f.body.Blocks {
		if b.Type != "env" {
			continue
		}
		if (len(b.Labels) == 1 && b.Labels[0] == name) || (len(b.Labels) == 0 && block == nil) {
			block = b
		}
	}
	if block == nil {
		return nil, fmt.Errorf("atlasconf: %s: no env %q (envs: %s)", f.path, name, strings.Join(f.Envs(), ", "))
	}
	vars := make(map[string]cty.Value, len(f.vars)+1)
	for k, v := range f.vars {
		vars[k] = v
	}
	vars["atlas"] = cty.ObjectVal(map[string]cty.Value{"env": cty.StringVal(name)})
	ctx := &hcl.EvalContext{Variables: vars, Functions: f.fn}

	env := &Env{Name: name, Migration: Migration{Dir: "file://migrations", LockTimeout: 10 * time.Second}}
	var err error
	if env.URL, err = stringAttr(ctx, block.Body, "url"); err != nil {
		return nil, err
	}
	if env.Dev, err = stringAttr(ctx, block.Body, "dev"); err != nil {
		return nil, err
	}
	if env.Src, err = f.sources(ctx, block.Body); err != nil {
		return nil, err
	}
	for _, mb := range block.Body.Blocks {
		if mb.Type != "migration" {
			continue
		}
		m := &env.Migration
		// Atlas writes the format as a bare word (format = atlas).
		if a, ok := mb.Body.Attributes["format"]; ok {
			if st, ok := a.Expr.(*hclsyntax.ScopeTraversalExpr); ok && len(st.Traversal) == 1 {
				m.Format = st.Traversal.RootName()
			} else if m.Format, err = stringAttr(ctx, mb.Body, "format"); err != nil {
				return nil, err
			}
		}
		for attr, dst := range map[string]*string{
			"dir": &m.Dir, "baseline": &m.Baseline,
			"exec_order": &m.ExecOrder, "revisions_schema": &m.RevisionsSchema,
		} {
			v, err := stringAttr(ctx, mb.Body, attr)
			if err != nil {
				return nil, err
			}
			if v != "" {
				*dst = v
			}
		}
		lt, err := stringAttr(ctx, mb.Body, "lock_timeout")
		if err != nil {
			return nil, err
		}
		if lt != "" {
			if m.LockTimeout, err = time.ParseDuration(lt); err != nil {
				return nil, attrErr(mb.Body.Attributes["lock_timeout"], fmt.Sprintf("lock_timeout: %v", err))
			}
		}
		if m.Format != "" && m.Format != "atlas" {
			return nil, attrErr(mb.Body.Attributes["format"], fmt.Sprintf("migration format %q is not supported (only atlas)", m.Format))
		}
		switch strings.ReplaceAll(m.ExecOrder, "_", "-") {
		case "", "linear", "linear-skip", "non-linear":
			m.ExecOrder = strings.ReplaceAll(m.ExecOrder, "_", "-")
		default:
			return nil, attrErr(mb.Body.Attributes["exec_order"], fmt.Sprintf("unknown exec_order %q", m.ExecOrder))
		}
	}
	return env, nil
}

// sources evaluates src: a URL, a list of URLs, or a composite_schema.
func (f *File) sources(ctx *hcl.EvalContext, body *hclsyntax.Body) ([]Source, error) {
	a, ok := body.Attributes["src"]
	if !ok {
		return nil, nil
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, fmt.Errorf("atlasconf: %w", diags)
	}
	var urls []string
	switch {
	case v.Type() == cty.String:
		urls = []string{v.AsString()}
	case v.Type().IsListType() || v.Type().IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.Type() != cty.String {
				return nil, attrErr(a, "src must be a URL or a list of URLs")
			}
			urls = append(urls, e.AsString())
		}
	default:
		return nil, attrErr(a, "src must be a URL or a list of URLs")
	}
	var srcs []Source
	for _, u := range urls {
		if name, ok := strings.CutPrefix(u, compositeScheme); ok {
			srcs = append(srcs, f.composites[name]...)
			continue
		}
		srcs = append(srcs, Source{URL: u})
	}
	return srcs, nil
}

func stringAttr(ctx *hcl.EvalContext, body *hclsyntax.Body, name string) (string, error) {
	a, ok := body.Attributes[name]
	if !ok {
		return "", nil
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return "", fmt.Errorf("atlasconf: %w", diags)
	}
	if v.IsNull() {
		return "", nil
	}
	if v.Type() != cty.String || !v.IsKnown() {
		return "", attrErr(a, fmt.Sprintf("%s must be a string", name))
	}
	return v.AsString(), nil
}

func sortedAttrs(body *hclsyntax.Body) []*hclsyntax.Attribute {
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		attrs = append(attrs, a)
	}
	slices.SortFunc(attrs, func(a, b *hclsyntax.Attribute) int { return a.SrcRange.Start.Byte - b.SrcRange.Start.Byte })
	return attrs
}

func blockErr(b *hclsyntax.Block, msg string) error {
	return fmt.Errorf("atlasconf: %s: %s", b.DefRange(), msg)
}

func attrErr(a *hclsyntax.Attribute, msg string) error {
	if a == nil {
		return errors.New("atlasconf: " + msg)
	}
	return fmt.Errorf("atlasconf: %s: %s", a.SrcRange, msg)
}

// functions returns the functions expressions may call: getenv, as in
// Atlas, and a few string helpers from the HCL standard library.
func functions(getenv func(string) string) map[string]function.Function {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return map[string]function.Function{
		"getenv": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "key", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return cty.StringVal(getenv(args[0].AsString())), nil
			},
		}),
		"format":   stdlib.FormatFunc,
		"lower":    stdlib.LowerFunc,
		"upper":    stdlib.UpperFunc,
		"replace":  stdlib.ReplaceFunc,
		"coalesce": stdlib.CoalesceFunc,
		"join":     stdlib.JoinFunc,
	}
}
