// Package schema declares the Ent entities of the task service.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/field"
)

// Task holds the schema definition for the Task entity.
//
// The timestamps are owned by PostgreSQL: both default to now() on INSERT,
// and the trigger declared in schema.sql sets updated_at on UPDATE. There is
// deliberately no Default(time.Now) or UpdateDefault here, so no writer's
// clock is ever involved.
type Task struct {
	ent.Schema
}

// Fields of the Task.
func (Task) Fields() []ent.Field {
	return []ent.Field{
		field.Text("title").
			NotEmpty().
			Comment("1 to 200 characters after trimming, checked by the API"),
		field.Bool("done").
			Default(false),
		field.Time("created_at").
			Immutable().
			Annotations(entsql.DefaultExpr("now()")),
		// Immutable for Ent: only the trigger may move it.
		field.Time("updated_at").
			Immutable().
			Annotations(entsql.DefaultExpr("now()")),
	}
}
