package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// IdempotencyKey holds the schema definition for the IdempotencyKey
// entity: an Idempotency-Key a create was sent with, the fingerprint of
// that request, and the task as the create answered it.
//
// Keys live in their own table, not on the task, so that a key outlives
// its task: a retry after the task was deleted replays the original answer
// instead of creating a second task. A key expires after the API's
// retention (counted from created_at) and is then deleted in the
// background.
type IdempotencyKey struct {
	ent.Schema
}

// Fields of the IdempotencyKey.
func (IdempotencyKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").
			StorageKey("key").
			NotEmpty().
			MaxLen(200).
			Immutable().
			Comment("the Idempotency-Key header: 1 to 200 visible ASCII characters"),
		field.Bytes("fingerprint").
			Comment("SHA-256 of the request's method, path and body"),
		// The task as the create answered it, so that a replay returns the
		// same body even after the task changed or was deleted.
		field.Int64("task_id"),
		field.Text("title"),
		field.Bool("done"),
		field.Time("created_at").
			Annotations(entsql.DefaultExpr("now()")).
			Comment("when the key was first used; the retention counts from here"),
	}
}

// Indexes of the IdempotencyKey.
func (IdempotencyKey) Indexes() []ent.Index {
	return []ent.Index{
		// The background expiry finds old keys without a full scan.
		index.Fields("created_at"),
	}
}
