// Package schema is Ent's examples/enumtypes layout: a field stored in a
// native PostgreSQL enum type that SQL declares.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/schema/field"
)

// User has a status of a native enum type.
type User struct{ ent.Schema }

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("status").
			Values("active", "inactive", "pending").
			SchemaType(map[string]string{dialect.Postgres: "status"}),
	}
}
