// No latest: every file is linted.
env "test" {}
