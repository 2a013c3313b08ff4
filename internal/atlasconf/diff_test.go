package atlasconf_test

import (
	"strings"
	"testing"
	"time"

	"ariga.io/atlas/schemahcl"
	"ariga.io/atlas/sql/postgres"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"tasks/internal/atlasconf"
)

var ignoreExtra = cmpopts.IgnoreFields(atlasconf.Diff{}, "Extra")

func TestDiffBlock(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      atlasconf.Diff
	}{
		{"none", `env "e" {}`, atlasconf.Diff{}},
		{"env", `env "e" {
  diff {
    concurrent_index {
      create = true
      drop   = true
    }
    online_constraints = true
    lock_timeout       = "500ms"
  }
}`, atlasconf.Diff{ConcurrentCreate: true, ConcurrentDrop: true, OnlineConstraints: true, LockTimeout: 500 * time.Millisecond}},
		{"add is create", `env "e" {
  diff {
    concurrent_index {
      add = true
    }
  }
}`, atlasconf.Diff{ConcurrentCreate: true}},
		{"global only", `diff {
  online_constraints = true
  lock_timeout = "2s"
}
env "e" {}`, atlasconf.Diff{OnlineConstraints: true, LockTimeout: 2 * time.Second}},
		{"env over global", `diff {
  concurrent_index {
    drop = true
  }
  online_constraints = true
  lock_timeout = "2s"
}
env "e" {
  diff {
    concurrent_index {
      create = true
    }
    lock_timeout = "0"
  }
}`, atlasconf.Diff{ConcurrentCreate: true, OnlineConstraints: true}},
		{"atlas skip kept", `env "e" {
  diff {
    skip {
      drop_schema = true
    }
    concurrent_index {
      create = true
    }
  }
}`, atlasconf.Diff{ConcurrentCreate: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := env(t, tc.src, "e", nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, e.Diff, ignoreExtra); d != "" {
				t.Fatalf("diff block (-want +got):\n%s", d)
			}
			if tc.name == "none" {
				if e.Diff.Extra != nil {
					t.Fatalf("Extra = %v without a diff block", e.Diff.Extra)
				}
				return
			}
			// Atlas's differ reads Extra itself: it must take it.
			ext, ok := e.Diff.Extra.(schemahcl.DefaultExtension)
			if !ok {
				t.Fatalf("Extra is %T", e.Diff.Extra)
			}
			var opts postgres.DiffOptions
			if err := ext.Extra.As(&opts); err != nil {
				t.Fatal(err)
			}
			if got := opts.ConcurrentIndex.Create || opts.ConcurrentIndex.Add; got != tc.want.ConcurrentCreate {
				t.Fatalf("Atlas reads concurrent_index create = %v", got)
			}
		})
	}
}

func TestDiffBlockErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`env "e" {
  diff {
    lock_timeout = "half a second"
  }
}`, `lock_timeout "half a second"`},
		{`env "e" {
  diff {
    lock_timeout = "1.5ms"
  }
}`, "whole milliseconds"},
		{`env "e" {
  diff {
    online_constraints = "yes"
  }
}`, "online_constraints must be true or false"},
	} {
		_, err := env(t, tc.src, "e", nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want one containing %q", tc.src, err, tc.want)
		}
	}
}
