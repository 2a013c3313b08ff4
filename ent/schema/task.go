// Package schema declares the Ent entities of the task service.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
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

// Indexes of the Task.
func (Task) Indexes() []ent.Index {
	return []ent.Index{
		// GET /tasks?done= pages newest first: the filter and the cursor
		// are one range of this index, read backwards, so a filtered page
		// costs what an unfiltered one does however few tasks match.
		index.Fields("done", "id"),
	}
}

// Annotations of the Task.
func (Task) Annotations() []schema.Annotation {
	return []schema.Annotation{
		// What a task may hold: finite timestamps in the years 1 to 9999,
		// which RFC 3339 writes and an ETag (microseconds since 1970)
		// holds. PostgreSQL itself takes 'infinity' and 294276 AD; other
		// tools writing those now get an error instead of a row the API
		// could not serve.
		entsql.Checks(map[string]string{
			"tasks_timestamps_check": `"created_at" >= '0001-01-01 00:00:00+00' AND "created_at" < '10000-01-01 00:00:00+00' AND ` +
				`"updated_at" >= '0001-01-01 00:00:00+00' AND "updated_at" < '10000-01-01 00:00:00+00'`,
		}),
	}
}
