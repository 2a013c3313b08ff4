// Command devdb runs a command against a throwaway, migrated PostgreSQL:
//
//	devdb -- bin/api
//
// The server lives exactly as long as the command.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"tasks/internal/devdb"
)

func main() {
	err := devdb.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	var exit *devdb.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.Code)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
