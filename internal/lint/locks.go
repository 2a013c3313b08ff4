package lint

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"ariga.io/atlas/schemahcl"
	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
)

// The lock hazards of statements on tables that exist before the file:
// what makes a migration stop the traffic of a live database. Where Atlas
// defines the same check (its PostgreSQL PG1xx and PG3xx checks, which its
// open-source library does not ship) the code and meaning are Atlas's; the
// project's own are LK1xx (letters none of Atlas's checks use).
const (
	// CodeIndexNotConcurrent: CREATE INDEX without CONCURRENTLY (Atlas
	// PG101) blocks writes for the whole build.
	CodeIndexNotConcurrent = "PG101"
	// CodeDropIndexNotConcurrent: DROP INDEX without CONCURRENTLY (PG102)
	// takes ACCESS EXCLUSIVE on the table.
	CodeDropIndexNotConcurrent = "PG102"
	// CodeConcurrentInTx: CONCURRENTLY in a file without
	// `-- atlas:txmode none` (PG103) fails in the file's transaction.
	CodeConcurrentInTx = "PG103"
	// CodePrimaryKeyLock: ADD PRIMARY KEY without USING INDEX (PG104)
	// builds its index under ACCESS EXCLUSIVE.
	CodePrimaryKeyLock = "PG104"
	// CodeUniqueLock: ADD UNIQUE without USING INDEX (PG105) builds its
	// index under ACCESS EXCLUSIVE.
	CodeUniqueLock = "PG105"
	// CodeTypeRewrite: a column type change that rewrites the table and
	// its indexes (PG301).
	CodeTypeRewrite = "PG301"
	// CodeAddColumnRewrite: ADD COLUMN that rewrites the table, with a
	// volatile default (PG302), or as a stored generated or identity
	// column.
	CodeAddColumnRewrite = "PG302"
	// CodeSetNotNullScan: SET NOT NULL that scans the table under ACCESS
	// EXCLUSIVE, with no validated CHECK proving it (PG303).
	CodeSetNotNullScan = "PG303"
	// CodePrimaryKeyNotNull: ADD PRIMARY KEY that makes nullable
	// columns NOT NULL, with no validated CHECK proving them, so the
	// table is scanned under ACCESS EXCLUSIVE (PG304).
	CodePrimaryKeyNotNull = "PG304"
	// CodeCheckScan: ADD CHECK without NOT VALID (PG305).
	CodeCheckScan = "PG305"
	// CodeForeignKeyScan: ADD FOREIGN KEY without NOT VALID (PG306).
	CodeForeignKeyScan = "PG306"
	// CodeNoLockTimeout: a file takes a strong lock on an existing table
	// with no lock_timeout set.
	CodeNoLockTimeout = "LK101"
	// CodeRewrite: any other statement that rewrites an existing table
	// (SET LOGGED, SET ACCESS METHOD, VACUUM FULL, CLUSTER…).
	CodeRewrite = "LK102"
)

// stmtWatch records, while the loader runs a linted file statement by
// statement on the dev database, what the catalog shows around each
// statement that the schema diff cannot: which tables a statement
// rewrote (their relfilenode changed: PostgreSQL's own verdict, so
// binary-coercible type changes are told apart from rewriting ones
// without restating its rules), and which NOT NULL constraints a
// validated CHECK proved before a SET NOT NULL.
type stmtWatch struct {
	schema    string
	fileStart map[string]int64 // tables at the file's start → relfilenode
	cur       map[string]int64
	rewritten map[int][]string        // statement position → tables it rewrote
	proved    map[int]map[string]bool // statement position → "table.column" a valid CHECK proves NOT NULL
	// unproved: before a statement that adds a primary key, the nullable
	// columns no valid CHECK proves NOT NULL ("table.column"); after it,
	// madeNotNull: those of them it made NOT NULL (with a scan).
	unproved    map[int][]string
	madeNotNull map[int][]string
	// parts is the schema's partitioning at the file's start.
	parts partitions
}

func (w *stmtWatch) startFile(ctx context.Context, q schema.ExecQuerier) error {
	var err error
	w.fileStart, err = relfilenodes(ctx, q, w.schema)
	w.cur = w.fileStart
	w.rewritten, w.proved = map[int][]string{}, map[int]map[string]bool{}
	w.unproved, w.madeNotNull = map[int][]string{}, map[int][]string{}
	if err != nil {
		return err
	}
	w.parts, err = readPartitions(ctx, q, w.schema)
	return err
}

func (w *stmtWatch) before(ctx context.Context, q schema.ExecQuerier, s *migrate.Stmt) error {
	toks := tokens(s.Text)
	setNotNull := names(toks, "set") && names(toks, "not") && names(toks, "null")
	primaryKey := names(toks, "primary") && names(toks, "key")
	if !setNotNull && !primaryKey {
		return nil
	}
	if err := w.readProved(ctx, q, s.Pos); err != nil {
		return err
	}
	if !primaryKey {
		return nil
	}
	nullable, err := nullableColumns(ctx, q, w.schema)
	if err != nil {
		return err
	}
	for _, tc := range nullable {
		if !w.proved[s.Pos][tc] {
			w.unproved[s.Pos] = append(w.unproved[s.Pos], tc)
		}
	}
	return nil
}

// nullableColumns lists the schema's nullable table columns as
// "table.column".
func nullableColumns(ctx context.Context, q schema.ExecQuerier, schemaName string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `
SELECT c.relname || '.' || a.attname FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND NOT a.attnotnull
ORDER BY 1`, schemaName)
	if err != nil {
		return nil, fmt.Errorf("lint: read nullable columns: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var tc string
		if err := rows.Scan(&tc); err != nil {
			return nil, fmt.Errorf("lint: read nullable columns: %w", err)
		}
		out = append(out, tc)
	}
	return out, rows.Err()
}

// readProved records the columns a validated CHECK (c IS NOT NULL)
// proves NOT NULL before the statement at pos: PostgreSQL 12+ then sets
// them NOT NULL without a scan.
func (w *stmtWatch) readProved(ctx context.Context, q schema.ExecQuerier, pos int) error {
	rows, err := q.QueryContext(ctx, `
SELECT c.relname || '.' || a.attname
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (k.conkey)
WHERE n.nspname = $1 AND k.contype = 'c' AND k.convalidated
  AND pg_get_expr(k.conbin, k.conrelid) = '(' || quote_ident(a.attname) || ' IS NOT NULL)'`, w.schema)
	if err != nil {
		return fmt.Errorf("lint: read checks: %w", err)
	}
	defer rows.Close()
	w.proved[pos] = map[string]bool{}
	for rows.Next() {
		var tc string
		if err := rows.Scan(&tc); err != nil {
			return fmt.Errorf("lint: read checks: %w", err)
		}
		w.proved[pos][tc] = true
	}
	return rows.Err()
}

func (w *stmtWatch) after(ctx context.Context, q schema.ExecQuerier, s *migrate.Stmt) error {
	now, err := relfilenodes(ctx, q, w.schema)
	if err != nil {
		return err
	}
	if cols := w.unproved[s.Pos]; len(cols) > 0 {
		still, err := nullableColumns(ctx, q, w.schema)
		if err != nil {
			return err
		}
		for _, tc := range cols {
			if !slices.Contains(still, tc) {
				w.madeNotNull[s.Pos] = append(w.madeNotNull[s.Pos], tc)
			}
		}
	}
	// TRUNCATE gives a table a new file too, without rewriting it.
	if toks := tokens(s.Text); !first(toks, "truncate") {
		for t, node := range w.cur {
			if _, existed := w.fileStart[t]; existed && node != 0 && now[t] != 0 && now[t] != node {
				w.rewritten[s.Pos] = append(w.rewritten[s.Pos], t)
			}
		}
		slices.Sort(w.rewritten[s.Pos])
	}
	w.cur = now
	return nil
}

func relfilenodes(ctx context.Context, q schema.ExecQuerier, schemaName string) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.relname, c.relfilenode::bigint FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm')`, schemaName)
	if err != nil {
		return nil, fmt.Errorf("lint: read relfilenodes: %w", err)
	}
	defer rows.Close()
	m := map[string]int64{}
	for rows.Next() {
		var (
			name string
			node int64
		)
		if err := rows.Scan(&name, &node); err != nil {
			return nil, fmt.Errorf("lint: read relfilenodes: %w", err)
		}
		m[name] = node
	}
	return m, rows.Err()
}

// lockAnalyzer is one of the lock-hazard analyzers; check reports on a
// loaded file.
type lockAnalyzer struct {
	// Error makes findings fail the lint; false (a warning, as Atlas's
	// own lock checks) unless `error = true`.
	Error bool
	// Skip turns the analyzer off.
	Skip bool

	name, text string
	watch      *stmtWatch
	check      func(f *sqlcheck.File, w *stmtWatch) []sqlcheck.Diagnostic
}

// Name implements sqlcheck.NamedAnalyzer.
func (a *lockAnalyzer) Name() string { return a.name }

func (a *lockAnalyzer) start(context.Context, schema.ExecQuerier) error { return nil }

// Analyze implements sqlcheck.Analyzer.
func (a *lockAnalyzer) Analyze(_ context.Context, p *sqlcheck.Pass) error {
	diags := a.check(p.File, a.watch)
	if len(diags) == 0 {
		return nil
	}
	p.Reporter.WriteReport(sqlcheck.Report{Text: a.text, Diagnostics: diags})
	if a.Error {
		return errors.New(a.text)
	}
	return nil
}

// lockAnalyzers builds the lock-hazard analyzers from the lint block:
// `concurrent_index` (PG101–PG105, with Atlas's check_create, check_drop
// and check_txmode), `blocking_change` (PG301–PG306, LK102),
// `partition_lock` (LK103–LK105) and
// `lock_timeout` (LK101); each takes `error` and `skip`.
func lockAnalyzers(r *schemahcl.Resource, w *stmtWatch) ([]ownAnalyzer, error) {
	ci := struct {
		Error       *bool `spec:"error"`
		Skip        bool  `spec:"skip"`
		CheckCreate *bool `spec:"check_create"`
		CheckDrop   *bool `spec:"check_drop"`
		CheckTxMode *bool `spec:"check_txmode"`
		schemahcl.DefaultExtension
	}{}
	if r != nil {
		if c, ok := r.Resource("concurrent_index"); ok {
			if err := c.As(&ci); err != nil {
				return nil, fmt.Errorf("lint: parsing concurrent_index options: %w", err)
			}
		}
	}
	on := func(b *bool) bool { return b == nil || *b }
	concurrent := &lockAnalyzer{
		name: "concurrent_index", text: "index and constraint changes that block writes", watch: w,
		Error: ci.Error != nil && *ci.Error, Skip: ci.Skip,
		check: func(f *sqlcheck.File, _ *stmtWatch) []sqlcheck.Diagnostic {
			return concurrentIndexDiags(f, on(ci.CheckCreate), on(ci.CheckDrop), on(ci.CheckTxMode))
		},
	}
	blocking := &lockAnalyzer{name: "blocking_change", text: "changes that rewrite or scan a table under a strong lock", watch: w, check: blockingDiags}
	timeout := &lockAnalyzer{name: "lock_timeout", text: "strong locks taken without lock_timeout", watch: w, check: lockTimeoutDiags}
	partition := &lockAnalyzer{name: "partition_lock", text: "partition changes that lock or scan a partitioned table", watch: w, check: partitionDiags}
	var out []ownAnalyzer
	for _, a := range []*lockAnalyzer{concurrent, blocking, timeout, partition} {
		if a != concurrent {
			var err error
			if a.Error, a.Skip, err = options(r, a.name, false); err != nil {
				return nil, err
			}
		}
		if !a.Skip {
			out = append(out, a)
		}
	}
	return out, nil
}

// existing are the tables of the schema before the file, and their
// indexes (index → table), which its statements lock.
type existing struct {
	tables  map[string]bool
	indexes map[string]string
}

func existingAt(f *sqlcheck.File) existing {
	e := existing{tables: map[string]bool{}, indexes: map[string]string{}}
	if f.From == nil {
		return e
	}
	for _, s := range f.From.Schemas {
		for _, t := range s.Tables {
			e.tables[t.Name] = true
			for _, idx := range t.Indexes {
				e.indexes[idx.Name] = t.Name
			}
		}
	}
	return e
}

// alterTable is an ALTER TABLE statement split into its subcommands.
type alterTable struct {
	table string
	cmds  [][]token
}

func parseAlterTable(toks []token) (alterTable, bool) {
	if len(toks) < 4 || !toks[0].is("alter") || !toks[1].is("table") {
		return alterTable{}, false
	}
	i := skip(toks, 2, "if", "exists")
	i = skip(toks, i, "only")
	var at alterTable
	at.table, i = name(toks, i)
	i = skip(toks, i, "*")
	depth, startCmd := 0, i
	for j := i; j <= len(toks); j++ {
		if j == len(toks) || (depth == 0 && (toks[j].is(",") || toks[j].is(";"))) {
			if j > startCmd {
				at.cmds = append(at.cmds, toks[startCmd:j])
			}
			startCmd = j + 1
			continue
		}
		switch {
		case toks[j].is("("):
			depth++
		case toks[j].is(")"):
			depth--
		}
	}
	return at, true
}

// addConstraint reads ADD [CONSTRAINT name] <kind> …: the constraint's
// name ("" when unnamed) and its kind's first word.
func addConstraint(cmd []token) (cname, kind string, rest []token, ok bool) {
	if len(cmd) < 2 || !cmd[0].is("add") {
		return "", "", nil, false
	}
	i := 1
	if cmd[i].is("constraint") && i+2 < len(cmd) {
		cname, i = cmd[i+1].text, i+2
	}
	switch {
	case cmd[i].is("primary"), cmd[i].is("unique"), cmd[i].is("check"), cmd[i].is("foreign"), cmd[i].is("exclude"):
		return cname, cmd[i].text, cmd[i:], true
	}
	return "", "", nil, false
}

func hasSeq(toks []token, words ...string) bool {
	for i := 0; i+len(words) <= len(toks); i++ {
		ok := true
		for k, w := range words {
			if !toks[i+k].is(w) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func quoted(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" %q", name)
}

// concurrentIndexDiags reports PG101–PG105.
func concurrentIndexDiags(f *sqlcheck.File, checkCreate, checkDrop, checkTxMode bool) []sqlcheck.Diagnostic {
	ex := existingAt(f)
	txNone := false
	if lf, ok := f.File.(*migrate.LocalFile); ok {
		txNone = slices.Contains(lf.Directive("txmode"), "none")
	}
	var diags []sqlcheck.Diagnostic
	report := func(c *sqlcheck.Change, code, format string, args ...any) {
		diags = append(diags, sqlcheck.Diagnostic{Pos: c.Stmt.Pos, Code: code, Text: fmt.Sprintf(format, args...)})
	}
	for _, c := range f.Changes {
		toks := tokens(c.Stmt.Text)
		if len(toks) == 0 {
			continue
		}
		concurrently := names(toks, "concurrently")
		detach := first(toks, "alter") && hasSeq(toks, "detach", "partition")
		if checkTxMode && concurrently && !txNone && (first(toks, "create") || first(toks, "drop") || first(toks, "reindex") || first(toks, "refresh") || detach) {
			on := ""
			if t := indexTable(toks, ex); t != "" {
				on = fmt.Sprintf(" (on table %q)", t)
			}
			report(c, CodeConcurrentInTx, "CONCURRENTLY%s cannot run inside a transaction, and this file runs in one: "+
				"start the file with \"-- atlas:txmode none\" and a blank line, and keep its other statements in a transactional file", on)
		}
		switch {
		case checkCreate && first(toks, "create"):
			i := skip(toks, 1, "unique")
			if i >= len(toks) || !toks[i].is("index") || concurrently {
				continue
			}
			idx := ""
			for i++; i < len(toks) && !toks[i].is("on"); i++ {
				if !toks[i].is("if") && !toks[i].is("not") && !toks[i].is("exists") {
					idx = toks[i].text
				}
			}
			table, _ := name(toks, skip(toks, i+1, "only"))
			if ex.tables[table] {
				report(c, CodeIndexNotConcurrent, "Creating index%s on existing table %q without CONCURRENTLY blocks writes to it for the whole build: "+
					"use CREATE INDEX CONCURRENTLY, in a file of its own marked -- atlas:txmode none", quoted(idx), table)
			}
		case checkDrop && first(toks, "drop") && len(toks) > 2 && toks[1].is("index") && !concurrently:
			for i := skip(toks, 2, "if", "exists"); i < len(toks); i++ {
				if toks[i].is(",") || toks[i].is("cascade") || toks[i].is("restrict") || toks[i].is(";") {
					continue
				}
				var idx string
				idx, i = name(toks, i)
				i--
				if table, ok := ex.indexes[idx]; ok {
					report(c, CodeDropIndexNotConcurrent, "Dropping index %q without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on table %q (reads and writes wait): "+
						"use DROP INDEX CONCURRENTLY, in a file of its own marked -- atlas:txmode none", idx, table)
				}
			}
		case checkCreate:
			at, ok := parseAlterTable(toks)
			if !ok || !ex.tables[at.table] {
				continue
			}
			for _, cmd := range at.cmds {
				cname, kind, rest, ok := addConstraint(cmd)
				if !ok || hasSeq(rest, "using", "index") {
					continue
				}
				switch kind {
				case "primary":
					report(c, CodePrimaryKeyLock, "Adding primary key%s to existing table %q builds its index under an ACCESS EXCLUSIVE lock (reads and writes wait): "+
						"create a unique index CONCURRENTLY first, then ADD CONSTRAINT … PRIMARY KEY USING INDEX", quoted(cname), at.table)
				case "unique":
					report(c, CodeUniqueLock, "Adding unique constraint%s to existing table %q builds its index under an ACCESS EXCLUSIVE lock (reads and writes wait): "+
						"create a unique index CONCURRENTLY first, then ADD CONSTRAINT … UNIQUE USING INDEX", quoted(cname), at.table)
				}
			}
		}
	}
	return diags
}

// indexTable is the table of a CREATE INDEX (after ON) or of the index a
// DROP INDEX names, when the file starts with it; "" otherwise.
func indexTable(toks []token, ex existing) string {
	switch {
	case first(toks, "create"):
		for i := range toks {
			if toks[i].is("on") {
				t, _ := name(toks, skip(toks, i+1, "only"))
				return t
			}
		}
	case first(toks, "drop") && len(toks) > 2 && toks[1].is("index"):
		i := skip(toks, 2, "concurrently")
		idx, _ := name(toks, skip(toks, i, "if", "exists"))
		return ex.indexes[idx]
	}
	return ""
}

// blockingDiags reports PG301–PG306 and LK102.
func blockingDiags(f *sqlcheck.File, w *stmtWatch) []sqlcheck.Diagnostic {
	ex := existingAt(f)
	var diags []sqlcheck.Diagnostic
	report := func(c *sqlcheck.Change, code, format string, args ...any) {
		diags = append(diags, sqlcheck.Diagnostic{Pos: c.Stmt.Pos, Code: code, Text: fmt.Sprintf(format, args...)})
	}
	for _, c := range f.Changes {
		toks := tokens(c.Stmt.Text)
		rewritten := w.rewritten[c.Stmt.Pos]
		at, isAlter := parseAlterTable(toks)
		if isAlter && ex.tables[at.table] {
			for _, cmd := range at.cmds {
				if cname, kind, rest, ok := addConstraint(cmd); ok && !hasSeq(rest, "not", "valid") {
					switch kind {
					case "check":
						report(c, CodeCheckScan, "Adding CHECK constraint%s to existing table %q scans every row under an ACCESS EXCLUSIVE lock: "+
							"add it NOT VALID, then VALIDATE CONSTRAINT as a statement of its own (it does not block reads or writes)", quoted(cname), at.table)
					case "foreign":
						ref := ""
						for i := range rest {
							if rest[i].is("references") {
								ref, _ = name(rest, i+1)
							}
						}
						report(c, CodeForeignKeyScan, "Adding foreign key%s to existing table %q scans it while writes to %q and %q wait: "+
							"add it NOT VALID, then VALIDATE CONSTRAINT as a statement of its own", quoted(cname), at.table, at.table, ref)
					}
				}
				if len(cmd) >= 4 && cmd[0].is("alter") {
					i := skip(cmd, 1, "column")
					col := cmd[i].text
					if hasSeq(cmd[i+1:], "set", "not", "null") && !w.proved[c.Stmt.Pos][at.table+"."+col] {
						report(c, CodeSetNotNullScan, "Setting column %q of existing table %q NOT NULL scans every row under an ACCESS EXCLUSIVE lock: "+
							"add CHECK (%s IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (PostgreSQL 12+ skips the scan) and drop the check", col, at.table, col)
					}
				}
			}
		}
		for _, tc := range w.madeNotNull[c.Stmt.Pos] {
			t, col, _ := strings.Cut(tc, ".")
			if isAlter && at.table == t && ex.tables[t] {
				report(c, CodePrimaryKeyNotNull, "Adding the primary key makes column %q of existing table %q NOT NULL, which scans every row "+
					"under an ACCESS EXCLUSIVE lock: first set it NOT NULL through a validated CHECK (%s IS NOT NULL) "+
					"(NOT VALID, VALIDATE, SET NOT NULL), then add the key", col, t, col)
			}
		}
		for _, t := range rewritten {
			code, text := CodeRewrite, fmt.Sprintf("Statement rewrites existing table %q under an ACCESS EXCLUSIVE lock: reads and writes wait for the whole rewrite; "+
				"run it when the table can be unavailable, or build a new table and switch over", t)
			if isAlter && at.table == t {
				if col := typeChange(at); col != "" {
					code, text = CodeTypeRewrite, fmt.Sprintf("Changing the type of column %q rewrites existing table %q and its indexes under an ACCESS EXCLUSIVE lock "+
						"(reads and writes wait for the whole rewrite): add a column of the new type, fill it in batches and switch over to it, "+
						"or run it when the table can be unavailable", col, t)
				} else if col, cmd := addedColumn(at); col != "" {
					code = CodeAddColumnRewrite
					switch {
					case hasSeq(cmd, "generated") && names(cmd, "stored"):
						text = fmt.Sprintf("Adding stored generated column %q rewrites existing table %q under an ACCESS EXCLUSIVE lock: "+
							"add a plain column, fill it in batches and keep it up to date with a trigger, "+
							"or run it when the table can be unavailable", col, t)
					case names(cmd, "identity"):
						text = fmt.Sprintf("Adding identity column %q rewrites existing table %q under an ACCESS EXCLUSIVE lock: "+
							"add a plain column with a sequence DEFAULT set afterwards and fill existing rows in batches", col, t)
					default:
						text = fmt.Sprintf("Adding column %q with a volatile DEFAULT rewrites existing table %q under an ACCESS EXCLUSIVE lock: "+
							"add it without the default, then SET DEFAULT (new rows only) and fill existing rows in batches", col, t)
					}
				}
			}
			report(c, code, "%s", text)
		}
	}
	return diags
}

// typeChange is the first column an ALTER TABLE changes the type of.
func typeChange(at alterTable) string {
	for _, cmd := range at.cmds {
		if len(cmd) >= 3 && cmd[0].is("alter") {
			i := skip(cmd, 1, "column")
			if i+1 < len(cmd) && (cmd[i+1].is("type") || hasSeq(cmd[i+1:], "set", "data", "type")) {
				return cmd[i].text
			}
		}
	}
	return ""
}

// addedColumn is the first column an ALTER TABLE adds, and its
// subcommand.
func addedColumn(at alterTable) (string, []token) {
	for _, cmd := range at.cmds {
		if len(cmd) >= 2 && cmd[0].is("add") {
			if _, _, _, isConstraint := addConstraint(cmd); isConstraint || cmd[1].is("constraint") {
				continue
			}
			i := skip(cmd, 1, "column")
			i = skip(cmd, i, "if", "not", "exists")
			if i < len(cmd) {
				return cmd[i].text, cmd
			}
		}
	}
	return "", nil
}

// lockTimeoutDiags reports LK101 at the first statement of a file that
// takes a strong lock on an existing table (one that makes reads or
// writes of it wait) before any SET lock_timeout: waiting for its lock
// behind a long transaction, it holds up every query on the table.
func lockTimeoutDiags(f *sqlcheck.File, _ *stmtWatch) []sqlcheck.Diagnostic {
	ex := existingAt(f)
	txNone := false
	if lf, ok := f.File.(*migrate.LocalFile); ok {
		txNone = slices.Contains(lf.Directive("txmode"), "none")
	}
	for _, c := range f.Changes {
		toks := tokens(c.Stmt.Text)
		if setsLockTimeout(toks, txNone) {
			return nil
		}
		if table := strongLock(toks, ex); table != "" {
			return []sqlcheck.Diagnostic{{Pos: c.Stmt.Pos, Code: CodeNoLockTimeout, Text: fmt.Sprintf(
				"Strong lock on existing table %q with no lock_timeout set: queued behind a long transaction, "+
					"it makes every query on %q wait too. Start the file with SET lock_timeout = '500ms'; "+
					"(migrate apply retries a file that times out)", table, table)}}
		}
	}
	return nil
}

// setsLockTimeout reports whether a statement sets a lock_timeout other
// than 0 that lasts for the following statements (SET LOCAL only does
// inside the file's transaction).
func setsLockTimeout(toks []token, txNone bool) bool {
	if len(toks) < 4 || !toks[0].is("set") {
		return false
	}
	i := 1
	if toks[1].is("local") {
		if txNone {
			return false
		}
		i++
	}
	i = skip(toks, i, "session")
	if i+2 >= len(toks) || !toks[i].is("lock_timeout") || !(toks[i+1].is("=") || toks[i+1].is("to")) {
		return false
	}
	var v strings.Builder
	for _, t := range toks[i+2:] {
		if t.is(";") {
			break
		}
		if t.text == "'" {
			v.WriteString(t.lit())
		} else {
			v.WriteString(t.text)
		}
	}
	val := strings.ToLower(strings.TrimSpace(v.String()))
	return val != "default" && !zeroDuration.MatchString(val)
}

// zeroDuration matches a lock_timeout value that turns the timeout off.
var zeroDuration = regexp.MustCompile(`^0+(\.0*)?\s*(us|ms|s|min|h|d)?$`)

// strongLock returns the existing table a statement locks against
// reads or writes, "" when it takes no such lock.
func strongLock(toks []token, ex existing) string {
	if len(toks) < 3 {
		return ""
	}
	if at, ok := parseAlterTable(toks); ok {
		if !ex.tables[at.table] {
			return ""
		}
		for _, cmd := range at.cmds {
			// VALIDATE CONSTRAINT and DETACH PARTITION … CONCURRENTLY
			// take SHARE UPDATE EXCLUSIVE: reads and writes go on.
			if !cmd[0].is("validate") && !(cmd[0].is("detach") && names(cmd, "concurrently")) {
				return at.table
			}
		}
		return ""
	}
	concurrently := names(toks, "concurrently")
	var table string
	switch {
	case first(toks, "create") && !concurrently:
		i := skip(toks, 1, "unique")
		if i < len(toks) && toks[i].is("index") {
			for i < len(toks) && !toks[i].is("on") {
				i++
			}
			table, _ = name(toks, skip(toks, i+1, "only"))
		} else if i < len(toks) && (toks[i].is("trigger") || hasSeq(toks, "create", "or", "replace", "trigger")) {
			for i < len(toks) && !toks[i].is("on") {
				i++
			}
			table, _ = name(toks, i+1)
		}
	case first(toks, "drop") && toks[1].is("index") && !concurrently:
		idx, _ := name(toks, skip(toks, 2, "if", "exists"))
		table = ex.indexes[idx]
	case first(toks, "drop") && toks[1].is("trigger"):
		for i := 2; i < len(toks); i++ {
			if toks[i].is("on") {
				table, _ = name(toks, i+1)
			}
		}
	case first(toks, "drop") && toks[1].is("table"):
		table, _ = name(toks, skip(toks, 2, "if", "exists"))
	case first(toks, "truncate"), first(toks, "lock"):
		table, _ = name(toks, skip(toks, skip(toks, 1, "table"), "only"))
	}
	if ex.tables[table] {
		return table
	}
	return ""
}
