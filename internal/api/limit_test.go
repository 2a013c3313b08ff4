package api_test

import (
	"fmt"
	"testing"
)

// The bounds of ?limit are themselves accepted: 1 and 100 give a page of
// exactly that many tasks and a cursor to the rest (0 and 101 are refused
// in TestErrors).
func TestListLimitBounds(t *testing.T) {
	e := newEnv(t)
	if _, err := e.db.Exec("INSERT INTO tasks (title) SELECT 't' || g FROM generate_series(1, 101) g"); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 100} {
		r := e.do("GET", fmt.Sprintf("/tasks?limit=%d", limit), "")
		if r.status != 200 {
			t.Fatalf("limit=%d: %d %s", limit, r.status, r.body)
		}
		var body struct {
			Items []taskBody `json:"items"`
			Next  *string    `json:"next_cursor"`
		}
		if err := jsonUnmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Items) != limit || body.Next == nil {
			t.Errorf("limit=%d: %d items, next cursor %v; want %d items and a cursor", limit, len(body.Items), body.Next != nil, limit)
		}
	}
}
