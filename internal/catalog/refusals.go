package catalog

import (
	"fmt"
	"strings"
)

// hint is what an UnsupportedError tells to do about its objects.
func (e *UnsupportedError) hint() string {
	var schemas []string
	others := false
	for _, o := range e.Objects {
		if s, ok := strings.CutPrefix(o, "schema "); ok {
			schemas = append(schemas, s)
		} else {
			others = true
		}
	}
	var h []string
	for _, s := range schemas {
		h = append(h, fmt.Sprintf("schema %s is not one of the schemas this diff manages (the composite_schema members "+
			"of atlas.hcl): to have it and its objects migrated, add a member for it, e.g. schema %q { url = \"file://%s.sql\" } "+
			"with its objects in that file (created in the member's schema); otherwise do not create it in the desired state",
			s, s, s))
	}
	if others {
		h = append(h, "the other kinds cannot be migrated by this tool (see \"What schema.sql may declare\" in the README): "+
			"remove them from the desired state, or create them by hand in a migration file of their own (migrate new, then make hash)")
	}
	return strings.Join(h, "\n  ")
}
