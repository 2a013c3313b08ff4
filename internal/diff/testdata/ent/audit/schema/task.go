// Package schema is the project's Task, plus an audit log Ent keeps in a
// schema of its own (entsql.Schema), for the scenarios of Ent tables
// outside the default schema.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
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

type Entry struct{ ent.Schema }

func (Entry) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Schema("audit")}
}

func (Entry) Fields() []ent.Field {
	return []ent.Field{
		field.Text("action"),
		field.Time("at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}
