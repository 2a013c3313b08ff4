package bench

import (
	"context"
	"fmt"
	"io"
)

// filteredListCost measures what a filter costs a page: GET /tasks beside
// GET /tasks?done=true and ?done=false, on a table grown to o.filteredRows
// tasks whose newest are all not done, so that ?done=true has to reach
// past every one of them (the seeded tasks, at the far end of the ids,
// are the only ones a patch may have marked done). With the (done, id)
// index each page reads its rows and no more; without it, ?done=true
// walked the whole table. The rows it adds are deleted again at the end.
func filteredListCost(ctx context.Context, stdout io.Writer, m *meter, api *process, o options) error {
	var have int
	if err := m.db.QueryRowContext(ctx, `SELECT count(*) FROM tasks`).Scan(&have); err != nil {
		return fmt.Errorf("bench: filtered lists: %w", err)
	}
	if add := o.filteredRows - have; add > 0 {
		if _, err := m.db.ExecContext(ctx, `INSERT INTO tasks (title) SELECT 'filtered bench ' || i FROM generate_series(1, $1) i`, add); err != nil {
			return fmt.Errorf("bench: filtered lists: fill: %w", err)
		}
	}
	defer func() {
		m.db.ExecContext(ctx, `DELETE FROM tasks WHERE title LIKE 'filtered bench %'`)
		m.db.ExecContext(ctx, `VACUUM ANALYZE tasks`)
	}()
	if _, err := m.db.ExecContext(ctx, `VACUUM ANALYZE tasks`); err != nil {
		return fmt.Errorf("bench: filtered lists: %w", err)
	}
	var total, done int
	if err := m.db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE done) FROM tasks`).Scan(&total, &done); err != nil {
		return fmt.Errorf("bench: filtered lists: %w", err)
	}
	fmt.Fprintf(stdout, "\nFiltered lists: a page of 20 from %d tasks, %d of them done (the oldest), median of %d rounds.\n\n", total, done, o.rounds)
	fmt.Fprintln(stdout, "| request | clients | req/s | p50 | p99 | API CPU µs/req | PostgreSQL CPU µs/req |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|")
	for _, n := range o.clients {
		for _, op := range []struct{ name, path string }{
			{"list", "GET /tasks"}, {"list-done", "GET /tasks?done=true"}, {"list-not-done", "GET /tasks?done=false"},
		} {
			var ss []sample
			for range o.rounds {
				s, err := m.http(ctx, api, op.name, n, o, nil)
				if err != nil {
					return err
				}
				ss = append(ss, s)
			}
			s := summarize(ss)
			errs := ""
			if s.errors > 0 {
				errs = fmt.Sprintf(" (%d failed)", s.errors)
			}
			fmt.Fprintf(stdout, "| %s%s | %d | %.0f | %s | %s | %.0f | %.0f |\n", op.path, errs, n, s.rate, ms(s.p50), ms(s.p99), s.serverUs, s.pgUs)
		}
	}
	return nil
}
