package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"tasks/internal/store"
)

// The reference server is the least an HTTP front for the store's
// statements can be: the same driver and settings, the store's own
// statements prepared once, a JSON body in and out, and nothing else (no
// validation, no ETags, no problem documents, no timeouts). The bench
// runs it next to the API, so the API's cost is read as a ratio to it on
// the same machine at the same moment.

// refTask is the reference server's JSON for a task.
type refTask struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Done      bool      `json:"done"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// serveReference is `bench reference`: it serves create, get, list and
// patch on addr until ctx ends.
func serveReference(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench reference", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	conns := fs.Int("max-conns", 32, "connection pool size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := sql.Open("postgres", *dbURL)
	if err != nil {
		return fmt.Errorf("bench: reference: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(*conns)
	db.SetMaxIdleConns(*conns)
	prep := map[string]*sql.Stmt{}
	for name, q := range statements() {
		if prep[name], err = db.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("bench: reference: prepare %s: %w", name, err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tasks/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		var t refTask
		err := prep["get"].QueryRowContext(r.Context(), id).Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt, &t.UpdatedAt)
		refReply(w, 200, t, err)
	})
	mux.HandleFunc("GET /tasks", func(w http.ResponseWriter, r *http.Request) {
		rows, err := prep["list"].QueryContext(r.Context(), int64(store.FirstPage), 21)
		if err != nil {
			refReply(w, 0, nil, err)
			return
		}
		defer rows.Close()
		out := struct {
			Items []refTask `json:"items"`
		}{Items: make([]refTask, 0, 21)}
		for rows.Next() {
			var t refTask
			if err := rows.Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt, &t.UpdatedAt); err != nil {
				refReply(w, 0, nil, err)
				return
			}
			out.Items = append(out.Items, t)
		}
		refReply(w, 200, out, rows.Err())
	})
	mux.HandleFunc("POST /tasks", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Title string `json:"title"`
			Done  bool   `json:"done"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		var t refTask
		err := prep["create"].QueryRowContext(r.Context(), in.Title, in.Done).Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt, &t.UpdatedAt)
		refReply(w, 201, t, err)
	})
	mux.HandleFunc("PATCH /tasks/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		var in struct {
			Done bool `json:"done"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		var t refTask
		err := prep["patch"].QueryRowContext(r.Context(), in.Done, id).Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt, &t.UpdatedAt)
		refReply(w, 200, t, err)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("bench: reference: %w", err)
	}
	srv := &http.Server{Handler: mux}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return fmt.Errorf("bench: reference: %w", err)
	}
	return nil
}

func refReply(w http.ResponseWriter, status int, v any, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
