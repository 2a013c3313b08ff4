lint {
  latest = 2
}
env "test" {}
