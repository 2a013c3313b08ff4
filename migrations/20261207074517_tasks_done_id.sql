-- Create index "task_done_id" to table: "tasks"
CREATE INDEX "task_done_id" ON "tasks" ("done", "id");
