CREATE TABLE notes (id int, updated_at timestamptz);
