env "test" {
  lint {
    latest = 2
  }
}
