// Package schema is the project's Task, plus a second table, Project
// scenarios.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/field"
)

type Task struct{ ent.Schema }

func (Task) Fields() []ent.Field {
	return []ent.Field{
		field.Text("title").NotEmpty(),
		field.Bool("done").Default(false),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
		field.Time("updated_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}
