lint {
  latest = 5
}
env "test" {}
