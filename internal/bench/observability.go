package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
)

// observabilityCost measures what metrics and the access log cost the
// API: get at o.obsClients clients on the API as it runs by default
// (metrics counted, the access log at debug, so not built), on one that
// also writes an access-log line per request to a file
// (ACCESS_LOG_LEVEL=info), and on one with neither, rotating which goes
// first in each round so that a machine growing busier or quieter does
// not favour one, and compares the medians. Request ids are in all
// three: they are part of every answer, not an option.
func observabilityCost(ctx context.Context, stdout io.Writer, m *meter, api *process, o options, dbURL, dir string) error {
	variants := []struct {
		name string
		env  []string
		proc *process
	}{
		{name: "metrics and access log", env: []string{"ACCESS_LOG_LEVEL=info"}},
		{name: "metrics (the default)", proc: api},
		{name: "off", env: []string{"METRICS=off", "ACCESS_LOG_LEVEL=off"}},
	}
	for i := range variants {
		v := &variants[i]
		if v.proc != nil {
			continue
		}
		a, err := startAPI(ctx, "API, observability "+v.name, o.apiBin, dbURL, o.dbConns, false,
			filepath.Join(dir, fmt.Sprintf("api-%d.log", i)), v.env...)
		if err != nil {
			return err
		}
		defer a.stop()
		v.proc = a.proc
	}

	fmt.Fprintf(stdout, "\nobservability cost: get at %d clients, %d rounds; metrics and access log = ACCESS_LOG_LEVEL=info (a line per request), "+
		"metrics = the defaults, off = METRICS=off ACCESS_LOG_LEVEL=off\n\n", o.obsClients, o.obsRounds)
	fmt.Fprintln(stdout, "| API | req/s, each round | median req/s | median server CPU µs/req | req/s / off's | CPU per request / off's |")
	fmt.Fprintln(stdout, "|---|---|---:|---:|---:|---:|")
	rates := make([][]float64, len(variants))
	cpu := make([][]float64, len(variants))
	for round := range o.obsRounds {
		for k := range variants {
			i := (round + k) % len(variants)
			s, err := m.http(ctx, variants[i].proc, "get", o.obsClients, o, nil)
			if err != nil {
				return err
			}
			if s.errors > 0 {
				return fmt.Errorf("bench: API, observability %s: %d of %d gets failed", variants[i].name, s.errors, s.requests)
			}
			rates[i] = append(rates[i], s.rate)
			cpu[i] = append(cpu[i], s.perReq(s.server))
		}
	}
	off := len(variants) - 1
	for i, v := range variants {
		fmt.Fprintf(stdout, "| %s | %s | %.0f | %.1f | %s | %s |\n", v.name, join(rates[i]), median(rates[i]), median(cpu[i]),
			ratio(median(rates[i]), median(rates[off])), ratio(median(cpu[i]), median(cpu[off])))
	}
	return nil
}
