package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// triggerVariant is one way of running UPDATEs on tasks: which trigger, if
// any, fires.
type triggerVariant struct {
	name   string
	enable string // the trigger to enable; "" for none
}

var triggerVariants = []triggerVariant{
	{"this project's trigger", "tasks_set_updated_at"},
	{"minimal PL/pgSQL trigger", "bench_minimal_updated_at"},
	{"no trigger", ""},
}

// triggerCost measures UPDATE throughput under each variant with
// pgbench -M prepared at 16 clients. Rounds interleave the variants (in a
// rotating order, so none always runs first), each on a freshly vacuumed
// table so that none inherits another's dead rows, and the median of the
// rounds is reported.
func triggerCost(ctx context.Context, stdout io.Writer, m *meter, pgbench, dbURL, dir string, o options) error {
	// The least a trigger can do to keep updated_at current.
	if _, err := m.db.ExecContext(ctx, `
CREATE FUNCTION bench_minimal_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
CREATE TRIGGER bench_minimal_updated_at BEFORE UPDATE ON tasks
  FOR EACH ROW EXECUTE FUNCTION bench_minimal_updated_at();
ALTER TABLE tasks DISABLE TRIGGER bench_minimal_updated_at`); err != nil {
		return fmt.Errorf("bench: minimal trigger: %w", err)
	}
	script := filepath.Join(dir, "update.sql")
	if err := os.WriteFile(script, []byte("\\set id random(1, :rows)\nUPDATE \"tasks\" SET \"done\" = NOT \"done\" WHERE \"id\" = :id;\n"), 0o644); err != nil {
		return err
	}
	tps := make([][]float64, len(triggerVariants))
	pgCPU := make([][]float64, len(triggerVariants))
	for round := range o.triggerRounds {
		for k := range triggerVariants {
			i := (k + round) % len(triggerVariants)
			v := triggerVariants[i]
			if _, err := m.db.ExecContext(ctx, `ALTER TABLE tasks DISABLE TRIGGER USER`); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			if v.enable != "" {
				if _, err := m.db.ExecContext(ctx, `ALTER TABLE tasks ENABLE TRIGGER `+v.enable); err != nil {
					return fmt.Errorf("bench: %w", err)
				}
			}
			s, err := m.pgbench(ctx, pgbench, dbURL, script, 16, o.triggerDur, 0)
			if err != nil {
				return err
			}
			tps[i] = append(tps[i], s.rate)
			pgCPU[i] = append(pgCPU[i], s.perReq(s.pg))
		}
	}
	if _, err := m.db.ExecContext(ctx, `ALTER TABLE tasks DISABLE TRIGGER USER;
ALTER TABLE tasks ENABLE TRIGGER tasks_set_updated_at;
DROP TRIGGER bench_minimal_updated_at ON tasks;
DROP FUNCTION bench_minimal_updated_at()`); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	fmt.Fprintf(stdout, "\ntrigger cost: pgbench -M prepared UPDATE at 16 clients, %d interleaved rounds of %s on a vacuumed table\n\n", o.triggerRounds, o.triggerDur)
	fmt.Fprintln(stdout, "| UPDATE with | tps, each round | median tps | median PostgreSQL CPU µs/txn | median tps / minimal trigger's | median of the rounds' tps / minimal trigger's |")
	fmt.Fprintln(stdout, "|---|---|---:|---:|---:|---:|")
	minimal := median(tps[1])
	for i, v := range triggerVariants {
		// A round's variants run back to back, so their ratio within the
		// round is spared the drift between rounds.
		paired := make([]float64, len(tps[i]))
		for r := range paired {
			paired[r] = tps[i][r] / tps[1][r]
		}
		fmt.Fprintf(stdout, "| %s | %s | %.0f | %.1f | %.3f | %.3f |\n", v.name, join(tps[i]), median(tps[i]),
			median(pgCPU[i]), median(tps[i])/minimal, median(paired))
	}
	return nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func join(v []float64) string {
	var b []byte
	for i, x := range v {
		if i > 0 {
			b = append(b, '/')
		}
		b = fmt.Appendf(b, "%.0f", x)
	}
	return string(b)
}
