ALTER TABLE tasks DISABLE TRIGGER tasks_updated_at;
