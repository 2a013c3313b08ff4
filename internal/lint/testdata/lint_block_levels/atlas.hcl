// Destructive changes as warnings, data-dependent ones as errors.
lint {
  latest = 1
  destructive {
    error = false
  }
  data_depend {
    error = true
  }
}
env "test" {}
