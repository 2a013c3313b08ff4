-- atlas:txmode none

-- Create index "task_done_id" to table: "tasks"
CREATE INDEX CONCURRENTLY "task_done_id" ON "tasks" ("done", "id");
