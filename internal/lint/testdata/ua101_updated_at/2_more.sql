CREATE TABLE notes (id int, updated_at timestamptz);
CREATE TABLE kept (id int, updated_at timestamptz);
CREATE TRIGGER kept_updated_at BEFORE UPDATE ON kept FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE tasks ADD COLUMN note text;
DROP TRIGGER tasks_updated_at ON tasks;
CREATE TABLE plain (id int);
ALTER TABLE plain ADD COLUMN updated_at timestamptz;
-- An AFTER trigger cannot change the row.
CREATE TABLE late (id int, updated_at timestamptz);
CREATE TRIGGER late_updated_at AFTER UPDATE ON late FOR EACH ROW EXECUTE FUNCTION set_updated_at();
