// Package schema is ent/audit changed: the audit log, in its own
// schema, gains a column, and a view (ent.View) lists open tasks.
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
		field.Int64("task_id").Optional(),
		field.Time("at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

type OpenTask struct{ ent.View }

func (OpenTask) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.View("SELECT id, title FROM tasks WHERE NOT done")}
}

func (OpenTask) Fields() []ent.Field {
	return []ent.Field{field.Int64("id"), field.Text("title")}
}
