// The shape migrate diff writes with online plans on: only the
// rewrite it cannot avoid is reported by the lock checks.
lint {
  latest = 3
}
env "test" {}
