package catalog

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/lib/pq"
)

// Kind names a kind of schema object, as the diff's messages and IDs
// spell it.
type Kind string

// The kinds of the model. Attribute kinds (comment, privileges, …) are
// separate objects because PostgreSQL sets them with their own statements
// and keeps them when the object is altered in place.
const (
	KindSchema        Kind = "schema"
	KindExtension     Kind = "extension"
	KindEnum          Kind = "enum type"
	KindDomain        Kind = "domain"
	KindComposite     Kind = "composite type"
	KindRange         Kind = "range type"
	KindSequence      Kind = "sequence"
	KindSequenceOwner Kind = "sequence owner"
	KindIdentity      Kind = "identity"
	KindOwner         Kind = "owner"
	KindTable         Kind = "table"
	KindColumn        Kind = "column"
	KindIndex         Kind = "index"
	KindConstraint    Kind = "constraint"
	KindView          Kind = "view"
	KindMatView       Kind = "materialized view"
	KindFunction      Kind = "function"
	KindProcedure     Kind = "procedure"
	KindAggregate     Kind = "aggregate"
	KindTrigger       Kind = "trigger"
	KindPolicy        Kind = "policy"
	KindRule          Kind = "rule"
	KindStatistics    Kind = "statistics"
	KindComment       Kind = "comment"
	KindPrivileges    Kind = "privileges"
	KindRLS           Kind = "row level security"
	KindTableOptions  Kind = "storage parameters"
	KindReplica       Kind = "replica identity"
	KindColumnStats   Kind = "statistics target"
	KindColumnStorage Kind = "storage"
	KindCompression   Kind = "compression"
	KindColumnOptions Kind = "column options"
	KindViewDefault   Kind = "default"
	KindTriggerState  Kind = "trigger state"
	KindDefaultACL    Kind = "default privileges"
	KindEventTrigger  Kind = "event trigger"
	KindCast          Kind = "cast"
	KindOperator      Kind = "operator"
	KindOperatorClass Kind = "operator class"
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
	ID string
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
// table's row-level-security flag). The planner works only from these
// fields, so every kind is planned by the same rules.
type Object struct {
	// ID identifies the object across databases: its kind and qualified
	// name (see ID). Two models' objects with one ID are the same object.
	ID     string
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

// ID builds an object ID from its kind and name parts, e.g.
// ID(KindTrigger, "public", "tasks", "tasks_set_updated_at") is
// "trigger public.tasks.tasks_set_updated_at". Parts are joined as
// they are, so an ID is unambiguous as long as names are quoted where
// they contain dots (use QuoteIdent on such parts).
func ID(kind Kind, parts ...string) string {
	return string(kind) + " " + strings.Join(parts, ".")
}

// AttrID is the ID of an attribute object (comment, privileges, …) of
// the object with ID of.
func AttrID(kind Kind, of string) string { return string(kind) + " of " + of }

// Model is every object of the managed schemas of one database.
type Model struct {
	// Schemas are the managed schemas, in the order of the sources.
	Schemas []string
	// Default is the schema whose objects are written unqualified (the
	// dev URL's search_path); "" qualifies every name.
	Default string
	Objects map[string]*Object
	addrs   map[Addr]string
	// owned are the sequences of identity and serial columns, by OID:
	// not objects of the model (their column creates and drops them),
	// but what their privileges and comments belong to.
	owned map[uint32]*Object
}

// NewModel returns an empty model of the given schemas.
func NewModel(schemas []string, def string) *Model {
	return &Model{Schemas: schemas, Default: def, Objects: map[string]*Object{}, addrs: map[Addr]string{},
		owned: map[uint32]*Object{}}
}

// Add puts o in the model; an ID or catalog address seen twice is an
// inspector's bug and an error.
func (m *Model) Add(o *Object) error {
	if o.ID == "" || o.Kind == "" {
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
func (m *Model) Lookup(a Addr) (string, bool) {
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
func (m *Model) IDs() []string {
	ids := make([]string, 0, len(m.Objects))
	for id := range m.Objects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
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
