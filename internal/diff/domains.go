package diff

import (
	"context"
	"database/sql"
	"fmt"

	"ariga.io/atlas/sql/schema"
)

// domainNullability corrects Atlas's view of columns whose domain is NOT
// NULL. Atlas reads nullability from information_schema, which reports
// such a column NOT NULL although the column itself is not (the domain
// is): a domain gaining NOT NULL would then come with SET NOT NULL on
// every column of it. The column's own attnotnull is what a migration
// sets.
func domainNullability(ctx context.Context, db *sql.DB, r *schema.Realm) error {
	rows, err := db.QueryContext(ctx, `
SELECT n.nspname, c.relname, a.attname, a.attnotnull
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
WHERE t.typtype = 'd' AND t.typnotnull AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`)
	if err != nil {
		return fmt.Errorf("diff: domain columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			s, t, col string
			notNull   bool
		)
		if err := rows.Scan(&s, &t, &col, &notNull); err != nil {
			return fmt.Errorf("diff: domain columns: %w", err)
		}
		for _, sc := range r.Schemas {
			if sc.Name != s {
				continue
			}
			if tb, ok := sc.Table(t); ok {
				if c, ok := tb.Column(col); ok && c.Type != nil {
					c.Type.Null = !notNull
				}
			}
		}
	}
	return rows.Err()
}
