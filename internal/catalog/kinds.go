package catalog

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
	KindSerial        Kind = "serial sequence"
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
	KindUnlogged      Kind = "unlogged"
	KindColumnStats   Kind = "statistics target"
	KindColumnStorage Kind = "storage"
	KindCompression   Kind = "compression"
	KindColumnOptions Kind = "column options"
	KindViewDefault   Kind = "default"
	KindTriggerState  Kind = "trigger state"
	KindDefaultACL    Kind = "default privileges"
)

// Facts are what the planner knows of a kind beyond its objects' own
// fields (Def, Create, Drop, Alter, Refuse, Deps): where its steps go
// when the graph leaves them free, and how statements and the migration
// file's comments name its objects. A new kind is its inspector plus one
// entry in kinds.
type Facts struct {
	// Rank orders the creates of this kind among the others when
	// nothing else does: what other objects are built from first.
	// Drops go in the reverse order.
	Rank int
	// Slot: objects of this kind take a name in their schema's one
	// namespace of relations and types, so that dropping one comes
	// before creating another one of that name, whatever its kind.
	Slot bool
	// DefaultACL: new objects of this kind take default privileges
	// (ALTER DEFAULT PRIVILEGES), which the planner keeps out of the
	// way while the migration creates them.
	DefaultACL bool
	// Keyword names an object of this kind in COMMENT ON, ALTER …
	// OWNER TO and DROP: "SEQUENCE", "MATERIALIZED VIEW"; "" for kinds
	// that are only attributes of others.
	Keyword string
	// Grant names it in GRANT and REVOKE; "" when the kind has no
	// privileges of its own.
	Grant string
	// Signature: objects are named with their identity arguments,
	// "f(integer, text)".
	Signature bool
	// OnTable: objects are named "<keyword> <name> ON <table>".
	OnTable bool
	// Label is the shape of the migration file's comment line above
	// the object's statements.
	Label Label
}

// Label is the shape of the comment line a migration file has above an
// object's statements, in the shapes Atlas writes.
type Label int

const (
	// LabelKindName: `Create sequence "s"`.
	LabelKindName Label = iota
	// LabelNameKind: `Create "f" function`.
	LabelNameKind
	// LabelOnTable: `Create policy "p" on table: "t"`, `Drop policy "p"
	// from table: "t"`.
	LabelOnTable
	// LabelTrigger is LabelOnTable but for its create: `Create trigger
	// "x"`.
	LabelTrigger
	// LabelSetting: `Set default privileges on tables`, `Reset …`.
	LabelSetting
	// LabelAttribute: `Set comment of function public.f()`, `Reset …`:
	// names the object the attribute belongs to.
	LabelAttribute
)

// attribute are the facts of the attribute kinds: set with the
// statements of their own, after the objects they belong to.
var attribute = Facts{Rank: 15, Label: LabelAttribute}

// kinds holds every kind's facts.
var kinds = map[Kind]Facts{
	KindSchema:    {Rank: 0, DefaultACL: true, Keyword: "SCHEMA", Grant: "SCHEMA"},
	KindExtension: {Rank: 1, Keyword: "EXTENSION"},
	KindEnum:      {Rank: 2, Slot: true, DefaultACL: true, Keyword: "TYPE", Grant: "TYPE"},
	KindDomain:    {Rank: 3, Slot: true, DefaultACL: true, Keyword: "DOMAIN", Grant: "DOMAIN"},
	KindComposite: {Rank: 3, Slot: true, DefaultACL: true, Keyword: "TYPE", Grant: "TYPE"},
	KindRange:     {Rank: 3, Slot: true, DefaultACL: true, Keyword: "TYPE", Grant: "TYPE"},
	KindSequence:  {Rank: 4, Slot: true, DefaultACL: true, Keyword: "SEQUENCE", Grant: "SEQUENCE"},
	// A partition is a table, created beside its parent's sequences: its
	// parent, an Atlas table, is placed by Atlas's changes.
	KindPartition:  {Rank: 4, Slot: true, DefaultACL: true, Keyword: "TABLE", Grant: "TABLE"},
	KindFunction:   {Rank: 5, DefaultACL: true, Keyword: "FUNCTION", Grant: "FUNCTION", Signature: true, Label: LabelNameKind},
	KindProcedure:  {Rank: 5, DefaultACL: true, Keyword: "PROCEDURE", Grant: "PROCEDURE", Signature: true, Label: LabelNameKind},
	KindAggregate:  {Rank: 6, DefaultACL: true, Keyword: "AGGREGATE", Grant: "ROUTINE", Signature: true, Label: LabelNameKind},
	KindView:       {Rank: 7, Slot: true, DefaultACL: true, Keyword: "VIEW", Grant: "TABLE", Label: LabelNameKind},
	KindMatView:    {Rank: 8, Slot: true, DefaultACL: true, Keyword: "MATERIALIZED VIEW", Grant: "TABLE", Label: LabelNameKind},
	KindIndex:      {Rank: 9, Slot: true, Keyword: "INDEX"},
	KindConstraint: {Rank: 9, Keyword: "CONSTRAINT", OnTable: true},
	KindTrigger:    {Rank: 10, Keyword: "TRIGGER", OnTable: true, Label: LabelTrigger},
	KindPolicy:     {Rank: 11, Keyword: "POLICY", OnTable: true, Label: LabelOnTable},
	KindRule:       {Rank: 11, Keyword: "RULE", OnTable: true, Label: LabelOnTable},
	KindStatistics: {Rank: 12, Keyword: "STATISTICS"},
	// Tables and their columns are Atlas's: their steps are placed by
	// Atlas's changes, never by rank.
	KindTable:  {Rank: 15, Slot: true, DefaultACL: true, Keyword: "TABLE", Grant: "TABLE"},
	KindColumn: {Rank: 15, Keyword: "COLUMN", Grant: "TABLE"},
	// Default privileges apply to what is created after them: reset
	// before every other change and set after all of them, so that what
	// the migration creates gets only the grants planned for it.
	KindDefaultACL: {Rank: 19, Label: LabelSetting},

	KindPartitionKey:  attribute,
	KindSequenceOwner: attribute,
	KindIdentity:      attribute,
	KindSerial:        attribute,
	KindOwner:         attribute,
	KindComment:       attribute,
	KindPrivileges:    attribute,
	KindRLS:           attribute,
	KindTableOptions:  attribute,
	KindReplica:       attribute,
	KindUnlogged:      attribute,
	KindColumnStats:   attribute,
	KindColumnStorage: attribute,
	KindCompression:   attribute,
	KindColumnOptions: attribute,
	KindViewDefault:   attribute,
	KindTriggerState:  attribute,
}

// Facts returns the kind's facts; a kind without an entry is planned
// as an attribute.
func (k Kind) Facts() Facts {
	if f, ok := kinds[k]; ok {
		return f
	}
	return attribute
}
