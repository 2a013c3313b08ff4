// The skipped file's revoke is not reported again with the next file.
env "test" {
  lint {
    latest = 2
  }
}
