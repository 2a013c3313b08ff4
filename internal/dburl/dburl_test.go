package dburl_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"

	"tasks/internal/dburl"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://app:hunter2@db:5432/tasks?sslmode=disable", "postgres://app:xxxxx@db:5432/tasks?sslmode=disable"},
		{"postgresql://app@db/tasks?password=hunter2&sslpassword=hunter2", "postgresql://app@db/tasks?password=xxxxx&sslpassword=xxxxx"},
		{"postgres://app:hunter2@db/%zz", "(unparsable database URL)"},
		{"host=db password=hunter2 dbname=tasks", "host='db' password='xxxxx' dbname='tasks'"},
		{"host = db  password = 'hunter 2\\' x' user=app", "host='db' password='xxxxx' user='app'"},
		{"host=db PASSWORD=hunter2", "host='db' PASSWORD='xxxxx'"},
		{"host=db password='hunter2", "(unparsable database connection string)"},
		{"hunter2", "(unparsable database connection string)"},
	} {
		got := dburl.Redact(tc.in)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Redact(%q) (-want +got):\n%s", tc.in, diff)
		}
		if strings.Contains(got, "hunter") {
			t.Errorf("Redact(%q) = %q still shows the password", tc.in, got)
		}
	}
}

func TestSetDefaults(t *testing.T) {
	defaults := [][2]string{{"binary_parameters", "yes"}, {"connect_timeout", "2"}}
	for _, tc := range []struct{ in, want string }{
		{"postgres://app@db/tasks", "postgres://app@db/tasks?binary_parameters=yes&connect_timeout=2"},
		{"postgres://app@db/tasks?connect_timeout=9", "postgres://app@db/tasks?binary_parameters=yes&connect_timeout=9"},
		{"host=db dbname=tasks connect_timeout=9", "host='db' dbname='tasks' connect_timeout='9' binary_parameters='yes'"},
		{`host=db password='a b\'c'`, `host='db' password='a b\'c' binary_parameters='yes' connect_timeout='2'`},
	} {
		got, err := dburl.SetDefaults(tc.in, defaults)
		if err != nil {
			t.Errorf("SetDefaults(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("SetDefaults(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, bad := range []string{"", "host", "password='hunter2"} {
		_, err := dburl.SetDefaults(bad, defaults)
		if err == nil {
			t.Errorf("SetDefaults(%q) accepted it", bad)
		} else if strings.Contains(err.Error(), "hunter") {
			t.Errorf("SetDefaults(%q) error shows the password: %v", bad, err)
		}
	}
}

func TestLocalSSLDefault(t *testing.T) {
	none := func(string) string { return "" }
	tests := []struct {
		in     string
		getenv func(string) string
		want   string
	}{
		{"postgres://u@localhost:5432/db", none, "postgres://u@localhost:5432/db?sslmode=disable"},
		{"postgres://u@127.0.0.1/db?x=1", none, "postgres://u@127.0.0.1/db?sslmode=disable&x=1"},
		{"postgres://u@[::1]:5432/db", none, "postgres://u@[::1]:5432/db?sslmode=disable"},
		{"postgres:///db?host=/var/run/postgresql", none, "postgres:///db?host=%2Fvar%2Frun%2Fpostgresql&sslmode=disable"},
		{"host=localhost dbname=db", none, "host='localhost' dbname='db' sslmode='disable'"},
		// Said explicitly, or remote: left to lib/pq.
		{"postgres://u@localhost/db?sslmode=require", none, "postgres://u@localhost/db?sslmode=require"},
		{"postgres://u@db.example.com/db", none, "postgres://u@db.example.com/db"},
		{"host=10.0.0.5 dbname=db", none, "host=10.0.0.5 dbname=db"},
		{"postgres://u@localhost/db", func(k string) string {
			if k == "PGSSLMODE" {
				return "require"
			}
			return ""
		}, "postgres://u@localhost/db"},
		// No host in the string: $PGHOST decides.
		{"dbname=db", func(k string) string {
			if k == "PGHOST" {
				return "db.example.com"
			}
			return ""
		}, "dbname=db"},
	}
	for _, tt := range tests {
		if got := dburl.LocalSSLDefault(tt.in, tt.getenv); got != tt.want {
			t.Errorf("LocalSSLDefault(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestExplainSSL(t *testing.T) {
	err := dburl.Explain(fmt.Errorf("connect: %w", pq.ErrSSLNotSupported))
	if !errors.Is(err, pq.ErrSSLNotSupported) || !strings.Contains(err.Error(), "sslmode=disable") {
		t.Fatalf("Explain = %v; want the cause kept and sslmode=disable named", err)
	}
}
