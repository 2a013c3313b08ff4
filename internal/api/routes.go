package api

import (
	"net/http"
)

// addRoutes maps every route of the API. Each path also gets a method-less
// pattern, so a wrong method gets a problem+json 405 with Allow (the
// standard mux's own 405 is plain text), and "/" answers unknown paths
// with a problem+json 404.
func addRoutes(mux *patternMux, c Config) {
	create, list := serve(c, handleCreate(c.Tasks)), serve(c, handleList(c.Tasks))
	replace := serve(c, handleReplace(c.Tasks))
	for _, p := range []string{"/tasks", "/tasks/{$}"} {
		mux.Handle("POST "+p, create)
		mux.Handle("GET "+p, list)
		mux.Handle(p, fixed(c, methodNotAllowed("GET, HEAD, POST")))
	}
	mux.Handle("GET /tasks/{id}", serve(c, handleGet(c.Tasks)))
	mux.Handle("PUT /tasks/{id}", replace)
	mux.Handle("POST /tasks/{id}", replace) // the original sample's update call
	mux.Handle("PATCH /tasks/{id}", serve(c, handlePatch(c.Tasks)))
	mux.Handle("DELETE /tasks/{id}", serve(c, handleDelete(c.Tasks)))
	mux.Handle("/tasks/{id}", fixed(c, methodNotAllowed("GET, HEAD, PUT, PATCH, POST, DELETE")))

	mux.Handle("GET /healthz", serve(c, handleHealth()))
	mux.Handle("GET /readyz", serve(c, handleReady(c)))
	mux.Handle("GET /openapi.yaml", serve(c, handleOpenAPI()))
	for _, p := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
		mux.Handle(p, fixed(c, methodNotAllowed("GET, HEAD")))
	}
	if c.Metrics != nil && c.PublicMetrics {
		mux.Handle("GET /metrics", c.Metrics.Handler())
		mux.Handle("/metrics", fixed(c, methodNotAllowed("GET, HEAD")))
	}
	mux.Handle("/", fixed(c, func() *problem { return newProblem(http.StatusNotFound, "no such resource") }))
}
