// Package schema is a 40-entity Ent schema for timing migrate diff on a
// schema of realistic size: each entity has a few fields, an index, and
// an edge to the one before it.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// E01 is entity 1 of 40.
type E01 struct{ ent.Schema }

// Fields of E01.
func (E01) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E01.
func (E01) Edges() []ent.Edge {
	return []ent.Edge{edge.To("children", E02.Type)}
}

// Indexes of E01.
func (E01) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E02 is entity 2 of 40.
type E02 struct{ ent.Schema }

// Fields of E02.
func (E02) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E02.
func (E02) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E01.Type).Ref("children").Unique(), edge.To("children", E03.Type)}
}

// Indexes of E02.
func (E02) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E03 is entity 3 of 40.
type E03 struct{ ent.Schema }

// Fields of E03.
func (E03) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E03.
func (E03) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E02.Type).Ref("children").Unique(), edge.To("children", E04.Type)}
}

// Indexes of E03.
func (E03) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E04 is entity 4 of 40.
type E04 struct{ ent.Schema }

// Fields of E04.
func (E04) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E04.
func (E04) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E03.Type).Ref("children").Unique(), edge.To("children", E05.Type)}
}

// Indexes of E04.
func (E04) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E05 is entity 5 of 40.
type E05 struct{ ent.Schema }

// Fields of E05.
func (E05) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E05.
func (E05) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E04.Type).Ref("children").Unique(), edge.To("children", E06.Type)}
}

// Indexes of E05.
func (E05) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E06 is entity 6 of 40.
type E06 struct{ ent.Schema }

// Fields of E06.
func (E06) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E06.
func (E06) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E05.Type).Ref("children").Unique(), edge.To("children", E07.Type)}
}

// Indexes of E06.
func (E06) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E07 is entity 7 of 40.
type E07 struct{ ent.Schema }

// Fields of E07.
func (E07) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E07.
func (E07) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E06.Type).Ref("children").Unique(), edge.To("children", E08.Type)}
}

// Indexes of E07.
func (E07) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E08 is entity 8 of 40.
type E08 struct{ ent.Schema }

// Fields of E08.
func (E08) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E08.
func (E08) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E07.Type).Ref("children").Unique(), edge.To("children", E09.Type)}
}

// Indexes of E08.
func (E08) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E09 is entity 9 of 40.
type E09 struct{ ent.Schema }

// Fields of E09.
func (E09) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E09.
func (E09) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E08.Type).Ref("children").Unique(), edge.To("children", E10.Type)}
}

// Indexes of E09.
func (E09) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E10 is entity 10 of 40.
type E10 struct{ ent.Schema }

// Fields of E10.
func (E10) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E10.
func (E10) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E09.Type).Ref("children").Unique(), edge.To("children", E11.Type)}
}

// Indexes of E10.
func (E10) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E11 is entity 11 of 40.
type E11 struct{ ent.Schema }

// Fields of E11.
func (E11) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E11.
func (E11) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E10.Type).Ref("children").Unique(), edge.To("children", E12.Type)}
}

// Indexes of E11.
func (E11) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E12 is entity 12 of 40.
type E12 struct{ ent.Schema }

// Fields of E12.
func (E12) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E12.
func (E12) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E11.Type).Ref("children").Unique(), edge.To("children", E13.Type)}
}

// Indexes of E12.
func (E12) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E13 is entity 13 of 40.
type E13 struct{ ent.Schema }

// Fields of E13.
func (E13) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E13.
func (E13) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E12.Type).Ref("children").Unique(), edge.To("children", E14.Type)}
}

// Indexes of E13.
func (E13) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E14 is entity 14 of 40.
type E14 struct{ ent.Schema }

// Fields of E14.
func (E14) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E14.
func (E14) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E13.Type).Ref("children").Unique(), edge.To("children", E15.Type)}
}

// Indexes of E14.
func (E14) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E15 is entity 15 of 40.
type E15 struct{ ent.Schema }

// Fields of E15.
func (E15) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E15.
func (E15) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E14.Type).Ref("children").Unique(), edge.To("children", E16.Type)}
}

// Indexes of E15.
func (E15) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E16 is entity 16 of 40.
type E16 struct{ ent.Schema }

// Fields of E16.
func (E16) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E16.
func (E16) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E15.Type).Ref("children").Unique(), edge.To("children", E17.Type)}
}

// Indexes of E16.
func (E16) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E17 is entity 17 of 40.
type E17 struct{ ent.Schema }

// Fields of E17.
func (E17) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E17.
func (E17) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E16.Type).Ref("children").Unique(), edge.To("children", E18.Type)}
}

// Indexes of E17.
func (E17) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E18 is entity 18 of 40.
type E18 struct{ ent.Schema }

// Fields of E18.
func (E18) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E18.
func (E18) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E17.Type).Ref("children").Unique(), edge.To("children", E19.Type)}
}

// Indexes of E18.
func (E18) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E19 is entity 19 of 40.
type E19 struct{ ent.Schema }

// Fields of E19.
func (E19) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E19.
func (E19) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E18.Type).Ref("children").Unique(), edge.To("children", E20.Type)}
}

// Indexes of E19.
func (E19) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E20 is entity 20 of 40.
type E20 struct{ ent.Schema }

// Fields of E20.
func (E20) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E20.
func (E20) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E19.Type).Ref("children").Unique(), edge.To("children", E21.Type)}
}

// Indexes of E20.
func (E20) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E21 is entity 21 of 40.
type E21 struct{ ent.Schema }

// Fields of E21.
func (E21) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E21.
func (E21) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E20.Type).Ref("children").Unique(), edge.To("children", E22.Type)}
}

// Indexes of E21.
func (E21) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E22 is entity 22 of 40.
type E22 struct{ ent.Schema }

// Fields of E22.
func (E22) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E22.
func (E22) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E21.Type).Ref("children").Unique(), edge.To("children", E23.Type)}
}

// Indexes of E22.
func (E22) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E23 is entity 23 of 40.
type E23 struct{ ent.Schema }

// Fields of E23.
func (E23) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E23.
func (E23) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E22.Type).Ref("children").Unique(), edge.To("children", E24.Type)}
}

// Indexes of E23.
func (E23) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E24 is entity 24 of 40.
type E24 struct{ ent.Schema }

// Fields of E24.
func (E24) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E24.
func (E24) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E23.Type).Ref("children").Unique(), edge.To("children", E25.Type)}
}

// Indexes of E24.
func (E24) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E25 is entity 25 of 40.
type E25 struct{ ent.Schema }

// Fields of E25.
func (E25) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E25.
func (E25) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E24.Type).Ref("children").Unique(), edge.To("children", E26.Type)}
}

// Indexes of E25.
func (E25) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E26 is entity 26 of 40.
type E26 struct{ ent.Schema }

// Fields of E26.
func (E26) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E26.
func (E26) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E25.Type).Ref("children").Unique(), edge.To("children", E27.Type)}
}

// Indexes of E26.
func (E26) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E27 is entity 27 of 40.
type E27 struct{ ent.Schema }

// Fields of E27.
func (E27) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E27.
func (E27) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E26.Type).Ref("children").Unique(), edge.To("children", E28.Type)}
}

// Indexes of E27.
func (E27) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E28 is entity 28 of 40.
type E28 struct{ ent.Schema }

// Fields of E28.
func (E28) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E28.
func (E28) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E27.Type).Ref("children").Unique(), edge.To("children", E29.Type)}
}

// Indexes of E28.
func (E28) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E29 is entity 29 of 40.
type E29 struct{ ent.Schema }

// Fields of E29.
func (E29) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E29.
func (E29) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E28.Type).Ref("children").Unique(), edge.To("children", E30.Type)}
}

// Indexes of E29.
func (E29) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E30 is entity 30 of 40.
type E30 struct{ ent.Schema }

// Fields of E30.
func (E30) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E30.
func (E30) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E29.Type).Ref("children").Unique(), edge.To("children", E31.Type)}
}

// Indexes of E30.
func (E30) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E31 is entity 31 of 40.
type E31 struct{ ent.Schema }

// Fields of E31.
func (E31) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E31.
func (E31) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E30.Type).Ref("children").Unique(), edge.To("children", E32.Type)}
}

// Indexes of E31.
func (E31) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E32 is entity 32 of 40.
type E32 struct{ ent.Schema }

// Fields of E32.
func (E32) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E32.
func (E32) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E31.Type).Ref("children").Unique(), edge.To("children", E33.Type)}
}

// Indexes of E32.
func (E32) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E33 is entity 33 of 40.
type E33 struct{ ent.Schema }

// Fields of E33.
func (E33) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E33.
func (E33) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E32.Type).Ref("children").Unique(), edge.To("children", E34.Type)}
}

// Indexes of E33.
func (E33) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E34 is entity 34 of 40.
type E34 struct{ ent.Schema }

// Fields of E34.
func (E34) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E34.
func (E34) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E33.Type).Ref("children").Unique(), edge.To("children", E35.Type)}
}

// Indexes of E34.
func (E34) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E35 is entity 35 of 40.
type E35 struct{ ent.Schema }

// Fields of E35.
func (E35) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E35.
func (E35) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E34.Type).Ref("children").Unique(), edge.To("children", E36.Type)}
}

// Indexes of E35.
func (E35) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E36 is entity 36 of 40.
type E36 struct{ ent.Schema }

// Fields of E36.
func (E36) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E36.
func (E36) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E35.Type).Ref("children").Unique(), edge.To("children", E37.Type)}
}

// Indexes of E36.
func (E36) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E37 is entity 37 of 40.
type E37 struct{ ent.Schema }

// Fields of E37.
func (E37) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E37.
func (E37) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E36.Type).Ref("children").Unique(), edge.To("children", E38.Type)}
}

// Indexes of E37.
func (E37) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E38 is entity 38 of 40.
type E38 struct{ ent.Schema }

// Fields of E38.
func (E38) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E38.
func (E38) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E37.Type).Ref("children").Unique(), edge.To("children", E39.Type)}
}

// Indexes of E38.
func (E38) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E39 is entity 39 of 40.
type E39 struct{ ent.Schema }

// Fields of E39.
func (E39) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E39.
func (E39) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E38.Type).Ref("children").Unique(), edge.To("children", E40.Type)}
}

// Indexes of E39.
func (E39) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}

// E40 is entity 40 of 40.
type E40 struct{ ent.Schema }

// Fields of E40.
func (E40) Fields() []ent.Field {
	return []ent.Field{
		field.String("name"),
		field.Text("note").Optional(),
		field.Int("rank").Default(0),
		field.Bool("active").Default(true),
		field.Time("created_at").Immutable().Annotations(entsql.DefaultExpr("now()")),
	}
}

// Edges of E40.
func (E40) Edges() []ent.Edge {
	return []ent.Edge{edge.From("parent", E39.Type).Ref("children").Unique()}
}

// Indexes of E40.
func (E40) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "rank")}
}
