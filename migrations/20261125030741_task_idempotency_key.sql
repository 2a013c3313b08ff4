-- Modify "tasks" table
ALTER TABLE "tasks" ADD COLUMN "idempotency_key" character varying NULL;
-- Create index "tasks_idempotency_key_key" to table: "tasks"
CREATE UNIQUE INDEX "tasks_idempotency_key_key" ON "tasks" ("idempotency_key");
