// Privileges reported as warnings, row-level security not checked,
// views at their default level (error).
lint {
  latest = 1
  privileges {
    error = false
  }
  row_security {
    skip = true
  }
}
env "test" {}
