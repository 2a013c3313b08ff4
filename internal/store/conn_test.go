package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/lib/pq"

	"tasks/internal/dbtest"
	"tasks/internal/store"
)

var cluster *dbtest.Cluster

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m, &cluster)) }

// TestFailedStatementDoesNotPoisonThePool sends what lib/pq refuses
// before writing a byte, 65,536 parameters, which leaves its connection
// marked busy; on a pool of one connection, every later statement would
// fail with "there is already a query being processed". Through
// store.Connector the pool replaces that connection instead.
func TestFailedStatementDoesNotPoisonThePool(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		t.Run(fmt.Sprintf("guarded=%v", guarded), func(t *testing.T) {
			conn, err := pq.NewConnector(cluster.Migrated(t) + "&binary_parameters=yes")
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(conn)
			if guarded {
				db = sql.OpenDB(store.Connector(conn))
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			ctx := context.Background()

			args := make([]any, 65536)
			for i := range args {
				args[i] = int64(i)
			}
			if _, err := db.ExecContext(ctx, "SELECT $1::bigint", args...); err == nil {
				t.Fatal("65,536 parameters were accepted")
			}
			failed := 0
			var first error
			for range 1000 {
				var one int
				if err := db.QueryRowContext(ctx, "SELECT $1::int", 1).Scan(&one); err != nil {
					failed++
					first = err
				}
			}
			t.Logf("after the refused statement: %d of 1000 statements failed (last error: %v)", failed, first)
			switch {
			case guarded && failed > 0:
				t.Fatalf("%d of 1000 statements failed after one refused statement: %v", failed, first)
			case !guarded && failed == 0:
				t.Fatal("the unguarded pool did not show the driver's failure; this test no longer proves anything")
			}
		})
	}
}
