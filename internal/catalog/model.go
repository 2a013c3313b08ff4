package catalog

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/lib/pq"
)

// Addr is an object's address in PostgreSQL's catalog as pg_depend
// records it: the catalog holding it (pg_class, pg_proc, pg_type, …), its
// OID there, and a column number for columns (0 otherwise).
type Addr struct {
	Catalog string
	OID     uint32
	Sub     int32
}

// Dep is an edge of the dependency graph: the object holding it needs
// the object named by ID.
type Dep struct {
	ID ObjectID
	// Auto: dropping the needed object drops this one with it (an index
	// with its table, a comment with its object), so the planner never
	// drops it explicitly after that.
	Auto bool
	// Retype: a change of the needed column's type undoes this object
	// (PostgreSQL resets a column's storage mode and compression to the
	// new type's), so it is set again after one.
	Retype bool
}

// Object is one schema object, or one attribute of an object that
// PostgreSQL sets with statements of its own (a comment, privileges, a
// table's row-level-security flag). The planner works from these fields
// and its kind's Facts (kinds.go), nothing else of the kind.
type Object struct {
	// ID identifies the object across databases: its kind and qualified
	// name. Two models' objects with one ID are the same object.
	ID     ObjectID
	Kind   Kind
	Schema string
	Name   string
	// Table is the owning relation of per-relation objects (columns,
	// triggers, policies, …), "" otherwise.
	Table string
	// Def is what is compared: two objects with one ID and equal Defs
	// need nothing. Bodies in it are normalized with sqltext, so layout
	// and comments outside literals do not count.
	Def string
	// Create creates the object as it is in the database it was read
	// from; Drop removes it.
	Create []string
	Drop   []string
	// Alter, when set, returns the statements that turn from (the same
	// object in the other database) into this one in place; ok false
	// means PostgreSQL cannot, and the planner drops and re-creates it
	// together with everything that depends on it.
	Alter func(from *Object) (stmts []string, ok bool)
	// Refuse, when set, is asked before Alter for an object whose Def
	// changed; an error stops the diff with that message. It is for
	// changes that neither Alter nor drop and re-create may carry out:
	// an enum type cannot lose or reorder values in place, and dropping
	// it would drop every column of that type.
	Refuse func(from *Object) error
	// Deps are the objects this one needs, from pg_depend and pg_rewrite
	// (filled in by Inspect) and from the inspector (attributes need
	// their object).
	Deps []Dep
	Addr Addr
	// Atlas marks tables and their columns, indexes and constraints:
	// Atlas's table diff plans them; they are in the model so that the
	// graph orders the other objects around them.
	Atlas bool
	// Comment is the migration file's comment line for changes of this
	// object ("" gives a default from Kind and Name).
	Comment string

	pol  *policy    // a policy's parts, for Alter
	fn   *Function  // a function's parts, for Alter
	ext  *extension // an extension's parts, for Alter
	enum []string   // an enum type's labels, for Alter
	dom  *domain    // a domain's parts, for Alter
	cols []column   // a view's or composite type's columns, for Alter
	seq  *sequence  // a sequence's parameters, for Alter
	// ident is an identity column's generation and parameters, for Alter.
	ident *identity
	// index is an index's definition without its storage parameters,
	// and those, for Alter.
	index *indexParts
	view  *view      // a view's or materialized view's parts, for Alter
	part  *partition // a partition's parent, bound and key (partitions.go)
	// users are the table columns of a type ("t.c"): re-creating the
	// type would drop them, so Refuse stops such a change.
	users []string
}

// ObjectID identifies an object across databases by its kind and
// qualified name; String spells it for messages, e.g. "trigger
// public.tasks.tasks_set_updated_at". IDs are compared field by field,
// so names need no quoting to keep them apart.
type ObjectID struct {
	Kind Kind
	// Schema is "" for database-wide kinds (schemas, extensions,
	// default privileges).
	Schema string
	// Table is the relation of a per-relation object (column,
	// constraint, trigger, policy, rule), "" otherwise.
	Table string
	Name  string
	// Args are a routine's identity arguments ("integer, text"), part
	// of the ID of kinds whose Facts have Signature.
	Args string
	// Of is set on the ID of an attribute (comment, privileges, …): the
	// kind of the object it belongs to, which the other fields name.
	Of Kind
}

// ID builds an object ID from its kind and name parts: one part is a
// name, two a schema and a name, three a schema, a table and a name,
// e.g. ID(KindTrigger, "public", "tasks", "tasks_set_updated_at").
func ID(kind Kind, parts ...string) ObjectID {
	id := ObjectID{Kind: kind}
	switch len(parts) {
	case 1:
		id.Name = parts[0]
	case 2:
		id.Schema, id.Name = parts[0], parts[1]
	case 3:
		id.Schema, id.Table, id.Name = parts[0], parts[1], parts[2]
	}
	return id
}

// RoutineID is the ID of a function, procedure or aggregate, which its
// identity arguments are part of.
func RoutineID(kind Kind, schema, name, args string) ObjectID {
	return ObjectID{Kind: kind, Schema: schema, Name: name, Args: args}
}

// AttrID is the ID of an attribute object (comment, privileges, …) of
// the object with ID of, which is no attribute itself.
func AttrID(kind Kind, of ObjectID) ObjectID {
	of.Of, of.Kind = of.Kind, kind
	return of
}

// Parent is the ID of the object an attribute belongs to; ok false for
// an ID that is no attribute's.
func (id ObjectID) Parent() (ObjectID, bool) {
	if id.Of == "" {
		return ObjectID{}, false
	}
	id.Kind, id.Of = id.Of, ""
	return id, true
}

func (id ObjectID) String() string {
	if of, ok := id.Parent(); ok {
		return string(id.Kind) + " of " + of.String()
	}
	var b strings.Builder
	b.WriteString(string(id.Kind))
	b.WriteByte(' ')
	for _, p := range []string{id.Schema, id.Table} {
		if p != "" {
			b.WriteString(p)
			b.WriteByte('.')
		}
	}
	b.WriteString(id.Name)
	if id.Kind.Facts().Signature {
		b.WriteString("(" + id.Args + ")")
	}
	return b.String()
}

// SortIDs sorts ids by their String, the order of the model's IDs.
func SortIDs(ids []ObjectID) {
	keys := make(map[ObjectID]string, len(ids))
	for _, id := range ids {
		keys[id] = id.String()
	}
	sort.Slice(ids, func(i, j int) bool { return keys[ids[i]] < keys[ids[j]] })
}

// Model is every object of the managed schemas of one database.
type Model struct {
	// Schemas are the managed schemas, in the order of the sources.
	Schemas []string
	// Default is the schema whose objects are written unqualified (the
	// dev URL's search_path); "" qualifies every name.
	Default string
	Objects map[ObjectID]*Object
	addrs   map[Addr]ObjectID
	// owned are the sequences of identity and serial columns, by OID:
	// not objects of the model (their column creates and drops them),
	// but what their privileges and comments belong to.
	owned map[uint32]*Object
	// serials are the sequences of serial columns, read with the
	// sequences and added as the columns' attributes (inspectSerials).
	serials []serialSeq
}

// NewModel returns an empty model of the given schemas.
func NewModel(schemas []string, def string) *Model {
	return &Model{Schemas: schemas, Default: def, Objects: map[ObjectID]*Object{}, addrs: map[Addr]ObjectID{},
		owned: map[uint32]*Object{}}
}

// Add puts o in the model; an ID or catalog address seen twice is an
// inspector's bug and an error.
func (m *Model) Add(o *Object) error {
	if o.ID == (ObjectID{}) || o.Kind == "" {
		return fmt.Errorf("catalog: object without ID or kind: %+v", o)
	}
	if _, dup := m.Objects[o.ID]; dup {
		return fmt.Errorf("catalog: %s read twice", o.ID)
	}
	if o.Addr.OID != 0 {
		if prev, dup := m.addrs[o.Addr]; dup {
			return fmt.Errorf("catalog: %s and %s share the catalog address %v", prev, o.ID, o.Addr)
		}
		m.addrs[o.Addr] = o.ID
	}
	m.Objects[o.ID] = o
	return nil
}

// Lookup returns the ID of the object at a catalog address.
func (m *Model) Lookup(a Addr) (ObjectID, bool) {
	id, ok := m.addrs[a]
	return id, ok
}

// Managed reports whether schema is one of the model's schemas.
func (m *Model) Managed(schema string) bool {
	for _, s := range m.Schemas {
		if s == schema {
			return true
		}
	}
	return false
}

// Qualify renders a schema-qualified name for SQL: quoted, and without
// the schema when it is the model's default one.
func (m *Model) Qualify(schema, name string) string {
	if schema == "" || schema == m.Default {
		return QuoteIdent(name)
	}
	return QuoteIdent(schema) + "." + QuoteIdent(name)
}

// IDs returns the model's IDs, sorted.
func (m *Model) IDs() []ObjectID {
	ids := make([]ObjectID, 0, len(m.Objects))
	for id := range m.Objects {
		ids = append(ids, id)
	}
	SortIDs(ids)
	return ids
}

// Inspector adds the objects of some kinds in m's schemas to m. Run on a
// connection whose search_path is m.Default (or empty when m.Default is
// ""), so definitions PostgreSQL renders come out qualified the same way
// in both databases of a diff.
type Inspector func(ctx context.Context, q Querier, m *Model) error

// QuoteIdent quotes a name in the DDL the catalog renders. Rendered DDL
// ends up in generated migration files and is compared byte for byte
// (scenario files, the Atlas CLI's own output, which always quotes), so
// every name is quoted, whether it needs it or not, and all rendering goes
// through this one function. SQL that is only sent to the database may use
// pq.QuoteIdentifier directly.
func QuoteIdent(s string) string { return pq.QuoteIdentifier(s) }

// QuoteLiteral quotes a string literal in rendered DDL; see QuoteIdent.
func QuoteLiteral(s string) string { return pq.QuoteLiteral(s) }

// plainOption is a storage parameter value that needs no quotes.
var plainOption = regexp.MustCompile(`^(-?[0-9]+(\.[0-9]+)?|[a-z_][a-z0-9_]*)$`)

// optionValue renders a storage parameter's value the way PostgreSQL
// prints reloptions: bare when it is a number or a plain word, quoted
// only otherwise. This is the one place rendered DDL quotes only when
// needed, so that a generated ALTER TABLE … SET (fillfactor=70) reads
// as the user wrote it in schema.sql.
func optionValue(v string) string {
	if plainOption.MatchString(v) {
		return v
	}
	return QuoteLiteral(v)
}
