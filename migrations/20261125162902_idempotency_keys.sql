-- Modify "tasks" table
ALTER TABLE "tasks" DROP COLUMN "idempotency_key";
-- Create "idempotency_keys" table
CREATE TABLE "idempotency_keys" ("key" character varying NOT NULL, "fingerprint" bytea NOT NULL, "task_id" bigint NOT NULL, "title" text NOT NULL, "done" boolean NOT NULL, "created_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("key"));
-- Create index "idempotencykey_created_at" to table: "idempotency_keys"
CREATE INDEX "idempotencykey_created_at" ON "idempotency_keys" ("created_at");
