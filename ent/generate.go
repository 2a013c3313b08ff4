// Package ent holds the Ent schema (ent/schema) and the client generated
// from it. Regenerate with `go generate ./...`.
package ent

//go:generate go tool ent generate ./schema
