// Package schema is the project's Task, with an index on done added
// scenarios.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
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

func (Task) Indexes() []ent.Index {
	return []ent.Index{index.Fields("done")}
}
