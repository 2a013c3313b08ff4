// Concurrent index checks fail the lint, but not for drops; the
// blocking checks are off; no lock_timeout is a warning.
lint {
  latest = 1
  concurrent_index {
    error      = true
    check_drop = false
  }
  blocking_change {
    skip = true
  }
}
env "test" {}
