env "test" {
  lint {
    latest = 1
    updated_at {
      error = false
    }
  }
}
