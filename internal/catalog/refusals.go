package catalog

import (
	"fmt"
	"strings"
)

// hint is what an UnsupportedError tells to do about its objects: why
// they stop the diff, and the way out, which depends on the state that
// holds them.
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
		// Every schema the states create is managed; what is left is
		// one that exists in every database (public) while the diff is
		// bound to another (the dev URL's search_path).
		h = append(h, fmt.Sprintf("schema %s is not managed by this diff, which is bound to the schemas of the composite_schema "+
			"members (or the dev URL's search_path) and the schemas the states create: name it in atlas.hcl with a member, "+
			"e.g. schema %q { url = \"file://schema.sql\" }, or create nothing in it", s, s))
	}
	if !others {
		return strings.Join(h, "\n  ")
	}
	why := "this tool cannot create, change or drop these kinds (see \"What schema.sql may declare\" in the README), " +
		"and a diff that cannot see an object must not claim to migrate it"
	if e.Directory {
		h = append(h, "they are in the state the migration directory builds (a hand-written migration created them): "+why+
			". While the directory creates them, migrate diff cannot run: add a migration that drops them "+
			"(migrate new <name>, write the DROP statements, then migrate hash) and, where the target needs them, "+
			"create them there by hand outside the migrations; or write every later migration by hand the same way")
	} else {
		h = append(h, "they are in the desired state: "+why+
			". Remove them from the desired state; if the database needs them, create them by hand on the target "+
			"database, outside the migrations (a diff reads only the directory and the desired state, so it leaves them alone)")
	}
	return strings.Join(h, "\n  ")
}
