CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
CREATE TABLE tasks (id int, updated_at timestamptz);
CREATE TRIGGER tasks_updated_at BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- Already without a trigger before the linted file: not the file's doing.
CREATE TABLE legacy (id int, updated_at timestamptz);
