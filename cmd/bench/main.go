// Command bench measures the API next to a bare reference server and
// pgbench running the same statements; `make bench` runs it. See
// `bench -h`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"tasks/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := bench.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
