// The project file of the Atlas CLI, read by this repo's `migrate` command
// too. The desired state is the Ent schema plus schema.sql (functions and
// triggers Ent cannot express); migrations/ holds the versioned files.

data "composite_schema" "app" {
  // Tables, columns and indexes declared by Ent.
  schema "public" {
    url = "ent://ent/schema"
  }
  // The updated_at function and trigger.
  schema "public" {
    url = "file://schema.sql"
  }
}

env "local" {
  src = data.composite_schema.app.url
  // Dev database where states are computed. Without a Docker engine,
  // `migrate` runs a throwaway local PostgreSQL instead.
  dev = "docker://postgres/15/dev?search_path=public"
  url = getenv("DATABASE_URL")
  migration {
    dir = "file://migrations"
  }
  // Plans for a database that serves traffic: indexes of existing tables
  // built and dropped CONCURRENTLY (Atlas's own block); constraints
  // added NOT VALID and validated apart, SET NOT NULL through a
  // validated check, unique keys USING INDEX; no statement waits more
  // than 500ms for a lock (this tool's settings, which the Atlas CLI
  // reads and ignores).
  diff {
    concurrent_index {
      create = true
      drop   = true
    }
    online_constraints = true
    lock_timeout       = "500ms"
  }
}
