package lint

import (
	"context"
	"fmt"

	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
)

// The lock hazards of declarative partitioning on a partitioned table
// that exists before the file (the project's own codes; Atlas's
// open-source library has none for them).
const (
	// CodeAttachScan: ATTACH PARTITION holds only SHARE UPDATE EXCLUSIVE
	// on the parent, but scans the attached table under ACCESS EXCLUSIVE
	// to prove its rows fit the bound, unless a validated CHECK
	// constraint implies the bound (and scans a default partition).
	CodeAttachScan = "LK103"
	// CodeDetachLock: DETACH PARTITION without CONCURRENTLY takes ACCESS
	// EXCLUSIVE on the parent.
	CodeDetachLock = "LK104"
	// CodePartitionParentLock: CREATE TABLE … PARTITION OF, and DROP
	// TABLE of a partition, take ACCESS EXCLUSIVE on the parent.
	CodePartitionParentLock = "LK105"
)

// partitions is the schema's partitioning where a file starts.
type partitions struct {
	parent   map[string]string // partition → its parent
	defaults map[string]string // parent → its default partition
	checked  map[string]bool   // tables with a validated CHECK constraint
}

func readPartitions(ctx context.Context, q schema.ExecQuerier, schemaName string) (partitions, error) {
	ps := partitions{parent: map[string]string{}, defaults: map[string]string{}, checked: map[string]bool{}}
	rows, err := q.QueryContext(ctx, `
SELECT c.relname, coalesce(p.relname, ''), coalesce(pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', false),
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.convalidated)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_class p ON p.oid = i.inhparent
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`, schemaName)
	if err != nil {
		return ps, fmt.Errorf("lint: read partitions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rel, parent    string
			isDef, checked bool
		)
		if err := rows.Scan(&rel, &parent, &isDef, &checked); err != nil {
			return ps, fmt.Errorf("lint: read partitions: %w", err)
		}
		if parent != "" {
			ps.parent[rel] = parent
		}
		if isDef {
			ps.defaults[parent] = rel
		}
		ps.checked[rel] = checked
	}
	return ps, rows.Err()
}

// partitionDiags reports LK103–LK105.
func partitionDiags(f *sqlcheck.File, w *stmtWatch) []sqlcheck.Diagnostic {
	ex := existingAt(f)
	ps := w.parts
	// A parent that exists before the file: a table Atlas sees, or a
	// partition partitioned in turn.
	live := func(t string) bool { _, part := ps.parent[t]; return ex.tables[t] || part }
	var diags []sqlcheck.Diagnostic
	report := func(c *sqlcheck.Change, code, format string, args ...any) {
		diags = append(diags, sqlcheck.Diagnostic{Pos: c.Stmt.Pos, Code: code, Text: fmt.Sprintf(format, args...)})
	}
	defaultScan := func(parent string) string {
		if d := ps.defaults[parent]; d != "" {
			return fmt.Sprintf("; default partition %q is scanned too, for rows of the new bound", d)
		}
		return ""
	}
	for _, c := range f.Changes {
		toks := tokens(c.Stmt.Text)
		if at, ok := parseAlterTable(toks); ok && live(at.table) {
			for _, cmd := range at.cmds {
				if len(cmd) < 3 || !cmd[1].is("partition") {
					continue
				}
				part, _ := name(cmd, 2)
				switch {
				case cmd[0].is("attach"):
					if _, existed := w.fileStart[part]; existed && !ps.checked[part] {
						report(c, CodeAttachScan, "Attaching existing table %q to %q scans every row of it under an ACCESS EXCLUSIVE lock "+
							"(%q itself only takes SHARE UPDATE EXCLUSIVE)%s: first add a CHECK constraint matching the bound NOT VALID "+
							"and VALIDATE it, so that PostgreSQL skips the scan; drop the check after the attach",
							part, at.table, at.table, defaultScan(at.table))
					}
				case cmd[0].is("detach") && !names(cmd, "concurrently") && !names(cmd, "finalize"):
					fix := "use DETACH PARTITION … CONCURRENTLY, in a file of its own marked -- atlas:txmode none"
					if d := ps.defaults[at.table]; d != "" {
						fix = fmt.Sprintf("PostgreSQL detaches CONCURRENTLY only from a table without a default partition "+
							"(%q is one): run it when the table can wait", d)
					}
					report(c, CodeDetachLock, "Detaching partition %q takes an ACCESS EXCLUSIVE lock on %q (reads and writes wait): %s",
						part, at.table, fix)
				}
			}
			continue
		}
		switch {
		case first(toks, "create"):
			i := skip(toks, 1, "unlogged")
			if i >= len(toks) || !toks[i].is("table") {
				continue
			}
			table, j := name(toks, skip(toks, i+1, "if", "not", "exists"))
			if j+2 < len(toks) && toks[j].is("partition") && toks[j+1].is("of") {
				if parent, _ := name(toks, j+2); live(parent) {
					report(c, CodePartitionParentLock, "Creating partition %q takes an ACCESS EXCLUSIVE lock on %q (reads and writes wait)%s: "+
						"create the table on its own, then ALTER TABLE %s ATTACH PARTITION, which takes only SHARE UPDATE EXCLUSIVE on it",
						table, parent, defaultScan(parent), parent)
				}
			}
		case first(toks, "drop") && len(toks) > 2 && toks[1].is("table"):
			for i := skip(toks, 2, "if", "exists"); i < len(toks); i++ {
				if toks[i].is(",") || toks[i].is("cascade") || toks[i].is("restrict") || toks[i].is(";") {
					continue
				}
				var t string
				t, i = name(toks, i)
				i--
				if parent, ok := ps.parent[t]; ok && live(parent) {
					report(c, CodePartitionParentLock, "Dropping partition %q takes an ACCESS EXCLUSIVE lock on %q (reads and writes wait): "+
						"detach it first with DETACH PARTITION … CONCURRENTLY, in a file of its own marked -- atlas:txmode none", t, parent)
				}
			}
		}
	}
	return diags
}

// partitionNames lists the partitions in the loader's schema: Atlas's
// inspector leaves them out of its tables.
func (l *loader) partitionNames(ctx context.Context) (map[string]bool, error) {
	rows, err := l.db.QueryContext(ctx, `
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relispartition AND c.relkind IN ('r', 'p')`, l.schema)
	if err != nil {
		return nil, fmt.Errorf("lint: read partitions: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("lint: read partitions: %w", err)
		}
		out[n] = true
	}
	return out, rows.Err()
}

// withPartitions corrects one statement's changes for the partitions
// Atlas's inspector does not see: a table attached as a partition is
// not dropped (its rows stay), and a partition dropped is a table
// dropped with its rows (so that DS102 reports it) when it existed at
// the file's start (atStart).
func withPartitions(changes schema.Changes, atStart, before, after map[string]bool, next *schema.Realm) schema.Changes {
	out := changes[:0:0]
	for _, c := range changes {
		if d, ok := c.(*schema.DropTable); ok && after[d.T.Name] {
			continue
		}
		out = append(out, c)
	}
	for name := range before {
		if after[name] || !atStart[name] {
			continue
		}
		if len(next.Schemas) > 0 {
			s := next.Schemas[0]
			if _, ok := s.Table(name); ok {
				continue // detached: a table of its own now
			}
			out = append(out, &schema.DropTable{T: schema.NewTable(name).SetSchema(s)})
		}
	}
	return out
}
