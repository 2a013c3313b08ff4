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
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:25432/tasks?sslmode=disable}"

cols="id, title, done, created_at, updated_at"
show() {
  echo "\$ psql -c \"select $cols from tasks where id = $id\""
  psql -X "$DATABASE_URL" -c "select $cols from tasks where id = $id"
}

# stamps prints "created_at updated_at" of the task as microseconds.
stamps() {
  psql -XAt -F' ' "$DATABASE_URL" -c "select (extract(epoch from created_at)*1e6)::bigint, (extract(epoch from updated_at)*1e6)::bigint from tasks where id = $id"
}

# moved STEP BEFORE AFTER: created_at must stay, updated_at must grow.
moved() {
  local c0 u0 c1 u1
  read -r c0 u0 <<<"$2"
  read -r c1 u1 <<<"$3"
  if [ "$c1" != "$c0" ] || [ "$u1" -le "$u0" ]; then
    echo "e2e: FAILED after $1: created_at $c0 -> $c1, updated_at $u0 -> $u1" >&2
    exit 1
  fi
  echo "e2e: $1: updated_at moved forward, created_at unchanged"
}

echo "\$ curl -X POST -H 'Content-Type: application/json' -d '{\"title\": \"sugoi_task\", \"done\": false}' $API_URL/tasks/"
created=$(curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' \
  -d '{"title": "sugoi_task", "done": false}' "$API_URL/tasks/")
echo "$created"
echo
id=$(printf '%s' "$created" | sed -E 's/.*"id":([0-9]+).*/\1/')
show
s0=$(stamps)
read -r c u <<<"$s0"
if [ "$c" != "$u" ]; then
  echo "e2e: FAILED: a new task's updated_at ($u) is not its created_at ($c)" >&2
  exit 1
fi

sleep 1
echo "\$ curl -X POST -H 'Content-Type: application/json' -d '{\"title\": \"sugoi_task\", \"done\": true}' $API_URL/tasks/$id"
curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' \
  -d '{"title": "sugoi_task", "done": true}' "$API_URL/tasks/$id"
echo
show
s1=$(stamps)
moved "the API update" "$s0" "$s1"

sleep 1
echo "\$ psql -c \"update tasks set title = 'sugoi_task (psql)' where id = $id\""
psql -X "$DATABASE_URL" -c "update tasks set title = 'sugoi_task (psql)' where id = $id"
show
moved "the psql update" "$s1" "$(stamps)"
echo "e2e: ok"
