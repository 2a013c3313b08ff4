// Package schema has the entities of Ent's examples/triggers: users, and
// an audit log that triggers in SQL fill.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
)

// User is a user.
type User struct{ ent.Schema }

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{field.String("name")}
}

// UserAuditLog is one audited change of a user.
type UserAuditLog struct{ ent.Schema }

// Fields of the UserAuditLog.
func (UserAuditLog) Fields() []ent.Field {
	return []ent.Field{
		field.String("operation_type"),
		field.String("operation_time"),
		field.String("old_value").Optional(),
		field.String("new_value").Optional(),
	}
}
