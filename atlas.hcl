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
}
