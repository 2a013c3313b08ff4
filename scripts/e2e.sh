#!/usr/bin/env bash
# Reproduces the original sample against a running service: create a task,
# update it through the API, then update it with plain SQL, printing the
# tasks row after each step. updated_at must move while created_at stays,
# because PostgreSQL's trigger sets it.
#
#   API_URL       the service (default http://localhost:8080)
#   DATABASE_URL  its database, for psql (default: the one `make run` starts)
set -euo pipefail
API_URL="${API_URL:-http://localhost:8080}"
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:55432/tasks?sslmode=disable}"

show() {
  echo "\$ psql -c \"select * from tasks where id = $id\""
  psql -X "$DATABASE_URL" -c "select * from tasks where id = $id"
}

echo "\$ curl -X POST -H 'Content-Type: application/json' -d '{\"title\": \"sugoi_task\", \"done\": false}' $API_URL/tasks/"
created=$(curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' \
  -d '{"title": "sugoi_task", "done": false}' "$API_URL/tasks/")
echo "$created"
echo
id=$(printf '%s' "$created" | sed -E 's/.*"id":([0-9]+).*/\1/')
show

sleep 1
echo "\$ curl -X POST -H 'Content-Type: application/json' -d '{\"title\": \"sugoi_task\", \"done\": true}' $API_URL/tasks/$id"
curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' \
  -d '{"title": "sugoi_task", "done": true}' "$API_URL/tasks/$id"
echo
show

sleep 1
echo "\$ psql -c \"update tasks set title = 'sugoi_task (psql)' where id = $id\""
psql -X "$DATABASE_URL" -c "update tasks set title = 'sugoi_task (psql)' where id = $id"
show

# The point of the exercise, checked rather than eyeballed.
ok=$(psql -XAt "$DATABASE_URL" -c "select updated_at > created_at + interval '1 second' from tasks where id = $id")
if [ "$ok" != t ]; then
  echo "e2e: FAILED: updated_at did not move past created_at" >&2
  exit 1
fi
echo "e2e: ok: updated_at moved with each update, created_at stayed"
