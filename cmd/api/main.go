// Command api serves the task service's HTTP API. Configuration comes
// from the environment (DATABASE_URL, ADDR, LOG_LEVEL, DB_MAX_CONNS,
// REQUEST_TIMEOUT, HTTP_MAX_CONNS, MAX_HEADER_BYTES, SHUTDOWN_DELAY,
// IDEMPOTENCY_RETENTION) or the equivalent flags; see `api -h`.
package main

import (
	"context"
	"fmt"
	"os"

	"tasks/internal/api"
)

func main() {
	if err := api.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
