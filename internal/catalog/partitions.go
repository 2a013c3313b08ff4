package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// KindPartition is a table attached to a partitioned table (declarative
// partitioning). Atlas's inspector leaves partitions out of its tables,
// and what a partition inherits (its columns, the children of its
// parent's partitioned indexes, clones of the parent's constraints and
// row triggers) PostgreSQL creates with it: so a partition is one object
// of the model, created with CREATE TABLE … PARTITION OF and dropped with
// DROP TABLE, and only what the partition holds of its own (an index or
// a constraint declared on it alone) is planned beside it.
const KindPartition Kind = "partition"

// KindPartitionKey is a partitioned table's PARTITION BY clause, an
// attribute of the table that Atlas creates with it. It is never
// planned: PostgreSQL cannot change a partition key, and
// RefusePartitionChanges stops a diff that would.
const KindPartitionKey Kind = "partition key"

// partition is a partition's place: its parent and bound, and its own
// partition key when it is partitioned in turn.
type partition struct {
	parentSchema, parent string
	bound                string // FOR VALUES …, or DEFAULT
	key                  string // PARTITION BY …, "" for a leaf
	// indexes are the partition's indexes of its parent's partitioned
	// indexes, by the parent index's name: its name and CREATE INDEX.
	indexes map[string][2]string
}

// Partition reports, for a partition, its parent (schema and name) and
// bound as PostgreSQL renders it (FOR VALUES …, or DEFAULT).
func (o *Object) Partition() (parentSchema, parent, bound string, ok bool) {
	if o.part == nil {
		return "", "", "", false
	}
	return o.part.parentSchema, o.part.parent, o.part.bound, true
}

// PartitionIndex returns the name and CREATE INDEX statement of the
// index partition o has for its parent's partitioned index parentIndex
// (as PostgreSQL named and built it), ok false when it has none.
func (o *Object) PartitionIndex(parentIndex string) (name, create string, ok bool) {
	if o.part == nil {
		return "", "", false
	}
	ix, ok := o.part.indexes[parentIndex]
	return ix[0], ix[1], ok
}

// HasPartitionKey reports whether partition o is partitioned in turn.
func (o *Object) HasPartitionKey() bool { return o.part != nil && o.part.key != "" }

// inspectPartitions adds the partitions of the managed schemas, the
// partition key of every partitioned table, and what each partition
// holds of its own. What PostgreSQL derives from the parent is only
// claimed (its catalog address points at the partition), so that it is
// neither refused as unknown nor planned a second time: the fingerprint
// still compares it.
func inspectPartitions(ctx context.Context, q Querier, m *Model) error {
	if err := inspectPartitionKeys(ctx, q, m); err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, c.relname, c.oid, pn.nspname, p.relname, p.oid,
       pg_get_expr(c.relpartbound, c.oid), coalesce(pg_get_partkeydef(c.oid), '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_inherits i ON i.inhrelid = c.oid
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND c.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: partitions: %w", err)
	}
	defer rows.Close()
	var (
		parts   []*Object
		parents = map[ObjectID]uint32{}
	)
	for rows.Next() {
		var (
			schema, name, pschema, pname, bound, key string
			oid, poid                                uint32
		)
		if err := rows.Scan(&schema, &name, &oid, &pschema, &pname, &poid, &bound, &key); err != nil {
			return fmt.Errorf("catalog: partitions: %w", err)
		}
		pt := &partition{parentSchema: pschema, parent: pname, bound: bound}
		if key != "" {
			pt.key = "PARTITION BY " + key
		}
		o := &Object{ID: ID(KindPartition, schema, name), Kind: KindPartition, Schema: schema, Name: name,
			Addr: Addr{"pg_class", oid, 0}, part: pt}
		o.Def = strings.TrimSpace("PARTITION OF " + pschema + "." + pname + " " + bound + " " + pt.key)
		create := "CREATE TABLE " + m.Qualify(schema, name) + " PARTITION OF " + m.Qualify(pschema, pname) + " " + bound
		if pt.key != "" {
			create += " " + pt.key
		}
		o.Create = []string{create}
		o.Drop = []string{"DROP TABLE " + m.Qualify(schema, name)}
		o.Refuse = func(from *Object) error {
			if from.part != nil && from.part.key != pt.key {
				return fmt.Errorf("partition %s.%s: its own partition key changes (%s to %s); PostgreSQL cannot change "+
					"a partition key in place, and dropping the partition would drop its rows: create the new "+
					"partition under another name, copy the rows into it in a migration of your own "+
					"(migrate new, then make hash), then drop the old one from schema.sql",
					schema, name, orNone(from.part.key), orNone(pt.key))
			}
			return nil
		}
		o.Alter = func(from *Object) ([]string, bool) {
			// A new bound or a new parent: detach, then attach, so
			// that the rows stay (ATTACH checks them against the
			// bound).
			if from.part == nil {
				return nil, false
			}
			return []string{
				"ALTER TABLE " + m.Qualify(from.part.parentSchema, from.part.parent) + " DETACH PARTITION " + m.Qualify(schema, name),
				"ALTER TABLE " + m.Qualify(pschema, pname) + " ATTACH PARTITION " + m.Qualify(schema, name) + " " + bound,
			}, true
		}
		parts = append(parts, o)
		parents[o.ID] = poid
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: partitions: %w", err)
	}
	if err := m.addAll(parts); err != nil {
		return err
	}
	// Dropping the parent drops its partitions: an automatic edge, set
	// once every partition (a parent may be one) is in the model.
	for _, o := range parts {
		if pid, ok := m.Lookup(Addr{"pg_class", parents[o.ID], 0}); ok {
			o.Deps = append(o.Deps, Dep{ID: pid, Auto: true})
		}
	}
	if err := m.partitionIndexes(ctx, q); err != nil {
		return err
	}
	if err := m.partitionConstraints(ctx, q); err != nil {
		return err
	}
	return m.partitionTriggers(ctx, q)
}

func orNone(key string) string {
	if key == "" {
		return "none"
	}
	return key
}

// inspectPartitionKeys adds the partition key of every partitioned
// table that is not itself a partition (a partition's key is part of its
// own definition).
func inspectPartitionKeys(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT c.oid, pg_get_partkeydef(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind = 'p' AND NOT c.relispartition
ORDER BY 1`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: partition keys: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			oid uint32
			key string
		)
		if err := rows.Scan(&oid, &key); err != nil {
			return fmt.Errorf("catalog: partition keys: %w", err)
		}
		t := m.relation(oid)
		if t == nil {
			continue // an extension's table
		}
		add = append(add, &Object{ID: AttrID(KindPartitionKey, t.ID), Kind: KindPartitionKey, Schema: t.Schema,
			Name: t.Name, Table: t.Name, Def: "PARTITION BY " + key, Atlas: true, Deps: []Dep{{ID: t.ID, Auto: true}}})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: partition keys: %w", err)
	}
	return m.addAll(add)
}

// partitionIndexes claims the indexes PostgreSQL built on partitions for
// their parent's partitioned indexes, and adds those a partition has of
// its own (not behind a constraint) with their own DDL.
func (m *Model) partitionIndexes(ctx context.Context, q Querier) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, c.relname, c.oid, t.oid, pg_get_indexdef(c.oid),
       quote_ident(tn.nspname) || '.' || quote_ident(t.relname), quote_ident(c.relname),
       coalesce((SELECT pi.relname FROM pg_inherits h JOIN pg_class pi ON pi.oid = h.inhparent WHERE h.inhrelid = c.oid), ''),
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid AND k.conrelid = t.oid),
       coalesce(c.reloptions, '{}')
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE n.nspname = ANY($1) AND t.relispartition
ORDER BY 1, 2`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: partition indexes: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			schema, name, def, qualified, pgName, parentIndex string
			oid, rel                                          uint32
			constraint                                        bool
			opts                                              []string
		)
		if err := rows.Scan(&schema, &name, &oid, &rel, &def, &qualified, &pgName, &parentIndex, &constraint, pqArrayOut(&opts)); err != nil {
			return fmt.Errorf("catalog: partition indexes: %w", err)
		}
		t := m.relation(rel)
		if t == nil {
			continue
		}
		def = strings.Replace(def, " ON ONLY ", " ON ", 1)
		def = strings.Replace(def, " ON "+qualified+" ", " ON "+m.Qualify(t.Schema, t.Name)+" ", 1)
		def = strings.Replace(def, " INDEX "+pgName+" ON ", " INDEX "+QuoteIdent(name)+" ON ", 1)
		if parentIndex != "" && t.part != nil {
			if t.part.indexes == nil {
				t.part.indexes = map[string][2]string{}
			}
			t.part.indexes[parentIndex] = [2]string{name, def}
		}
		if parentIndex != "" || constraint {
			// PostgreSQL's (or its constraint's, claimed again by the
			// constraint when it is the partition's own).
			m.addrs[Addr{"pg_class", oid, 0}] = t.ID
			continue
		}
		o := &Object{ID: ID(KindIndex, schema, name), Kind: KindIndex, Schema: schema, Name: name, Table: t.Name,
			Def: def, Create: []string{def}, Drop: []string{"DROP INDEX " + m.Qualify(schema, name)},
			Addr: Addr{"pg_class", oid, 0}, Deps: []Dep{{ID: t.ID, Auto: true}}}
		m.indexOptions(o, opts)
		add = append(add, o)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: partition indexes: %w", err)
	}
	return m.addAll(add)
}

// partitionConstraints adds the constraints a partition has of its own;
// those it inherits (clones of the parent's keys and foreign keys,
// inherited checks) come and go with the parent's.
func (m *Model) partitionConstraints(ctx context.Context, q Querier) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, t.relname, t.oid, c.conname, c.oid, c.conindid, pg_get_constraintdef(c.oid),
       c.conparentid <> 0 OR c.coninhcount > 0
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = ANY($1) AND t.relispartition
ORDER BY 1, 2, 4`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: partition constraints: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			schema, table, name, def string
			rel, oid, index          uint32
			inherited                bool
		)
		if err := rows.Scan(&schema, &table, &rel, &name, &oid, &index, &def, &inherited); err != nil {
			return fmt.Errorf("catalog: partition constraints: %w", err)
		}
		t := m.relation(rel)
		if t == nil || inherited {
			continue
		}
		alter := "ALTER TABLE " + m.Qualify(schema, table)
		o := &Object{ID: ID(KindConstraint, schema, table, name), Kind: KindConstraint, Schema: schema, Name: name,
			Table: table, Def: def, Addr: Addr{"pg_constraint", oid, 0}, Deps: []Dep{{ID: t.ID, Auto: true}},
			Create: []string{alter + " ADD CONSTRAINT " + QuoteIdent(name) + " " + def},
			Drop:   []string{alter + " DROP CONSTRAINT " + QuoteIdent(name)}}
		add = append(add, o)
		if index != 0 {
			m.addrs[Addr{"pg_class", index, 0}] = o.ID
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: partition constraints: %w", err)
	}
	return m.addAll(add)
}

// partitionTriggers claims the clones of a partitioned table's row
// triggers on its partitions: PostgreSQL makes them with the partition.
func (m *Model) partitionTriggers(ctx context.Context, q Querier) error {
	rows, err := q.QueryContext(ctx, `
SELECT t.oid, t.tgrelid
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND NOT t.tgisinternal AND t.tgparentid <> 0`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: partition triggers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oid, rel uint32
		if err := rows.Scan(&oid, &rel); err != nil {
			return fmt.Errorf("catalog: partition triggers: %w", err)
		}
		if t := m.relation(rel); t != nil {
			m.addrs[Addr{"pg_trigger", oid, 0}] = t.ID
		}
	}
	return rows.Err()
}

// RefusePartitionChanges stops a diff that would change what cannot be
// changed in place without losing rows: a table's partition key (added,
// removed or changed), and a table that becomes a partition or stops
// being one. Each is named with why and what to do.
func RefusePartitionChanges(cur, des *Model) error {
	var msgs []string
	keyOf := func(m *Model, tid ObjectID) (string, bool) {
		o, ok := m.Objects[AttrID(KindPartitionKey, tid)]
		if !ok {
			return "", false
		}
		return o.Def, true
	}
	for _, id := range des.IDs() {
		d := des.Objects[id]
		switch d.Kind {
		case KindTable:
			if c, ok := cur.Objects[id]; ok && c.Kind == KindTable {
				from, _ := keyOf(cur, id)
				to, _ := keyOf(des, id)
				if from != to {
					msgs = append(msgs, fmt.Sprintf("table %s.%s: its partition key changes from %s to %s: PostgreSQL "+
						"cannot change a table's partitioning in place, and dropping the table would drop its rows. "+
						"Declare the new table under another name in schema.sql, copy the rows into it in a migration "+
						"of your own (migrate new, then make hash), and drop the old table from schema.sql afterwards",
						d.Schema, d.Name, orNone(from), orNone(to)))
				}
			}
			if c, ok := cur.Objects[ID(KindPartition, d.Schema, d.Name)]; ok {
				msgs = append(msgs, fmt.Sprintf("partition %s.%s of %s.%s becomes a table of its own: this tool does not "+
					"drop and re-create it (its rows would go); detach it in a migration of your own "+
					"(migrate new: ALTER TABLE %s DETACH PARTITION %s; then make hash) and declare in schema.sql "+
					"what the detached table keeps",
					d.Schema, d.Name, c.part.parentSchema, c.part.parent, des.Qualify(c.part.parentSchema, c.part.parent),
					des.Qualify(d.Schema, d.Name)))
			}
		case KindPartition:
			if _, ok := cur.Objects[ID(KindTable, d.Schema, d.Name)]; ok {
				msgs = append(msgs, fmt.Sprintf("table %s.%s becomes a partition of %s.%s: this tool does not drop and "+
					"re-create it (its rows would go); attach it in a migration of your own (migrate new: "+
					"ALTER TABLE %s ATTACH PARTITION %s %s; then make hash), with indexes and constraints as the "+
					"parent's, and a validated CHECK constraint matching the bound so that ATTACH need not scan it",
					d.Schema, d.Name, d.part.parentSchema, d.part.parent, des.Qualify(d.part.parentSchema, d.part.parent),
					des.Qualify(d.Schema, d.Name), d.part.bound))
			}
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	sort.Strings(msgs)
	return fmt.Errorf("catalog: %s", strings.Join(msgs, "\n  "))
}

// ForeignKeyClones lists, by schema and table, the foreign keys that
// PostgreSQL made as clones of another (a foreign key referencing a
// partitioned table has one per partition on the referencing table):
// they come and go with the constraint they clone, so neither Atlas's
// diff nor the model may plan them.
func ForeignKeyClones(ctx context.Context, q Querier, schemas []string) (map[[2]string]map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, t.relname, c.conname
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = ANY($1) AND c.contype = 'f' AND c.conparentid <> 0`, pqArray(schemas))
	if err != nil {
		return nil, fmt.Errorf("catalog: foreign key clones: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]map[string]bool{}
	for rows.Next() {
		var s, t, name string
		if err := rows.Scan(&s, &t, &name); err != nil {
			return nil, fmt.Errorf("catalog: foreign key clones: %w", err)
		}
		k := [2]string{s, t}
		if out[k] == nil {
			out[k] = map[string]bool{}
		}
		out[k][name] = true
	}
	return out, rows.Err()
}
