lint {
  latest = 1
  updated_at {
    skip = true
  }
}
env "test" {}
