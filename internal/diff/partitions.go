package diff

import (
	"context"
	"database/sql"
	"fmt"

	"ariga.io/atlas/sql/schema"

	"tasks/internal/catalog"
)

// withoutClones removes from Atlas's tables the foreign keys PostgreSQL
// cloned for partitions (catalog.ForeignKeyClones): Atlas's inspector
// lists them as foreign keys of their own, to partitions it does not
// know, and would add them a second time.
func withoutClones(ctx context.Context, db *sql.DB, r *schema.Realm, schemas []string) error {
	clones, err := catalog.ForeignKeyClones(ctx, db, schemas)
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	for _, s := range r.Schemas {
		for _, t := range s.Tables {
			names := clones[[2]string{s.Name, t.Name}]
			if len(names) == 0 {
				continue
			}
			fks := t.ForeignKeys[:0]
			for _, f := range t.ForeignKeys {
				if !names[f.Symbol] {
					fks = append(fks, f)
				}
			}
			t.ForeignKeys = fks
		}
	}
	return nil
}
