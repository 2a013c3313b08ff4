-- CASCADE drops cheap_ids and cheap_count without naming them.
DROP VIEW cheap CASCADE;
-- Re-created with its dependent: nothing lost.
DROP VIEW top;
DROP VIEW base;
CREATE VIEW base AS SELECT id, price FROM items;
CREATE VIEW top AS SELECT id FROM base;
-- Nothing depends on it.
DROP VIEW solo;
-- The dependent first, then the materialized view: both gone.
DROP VIEW totals_view;
DROP MATERIALIZED VIEW totals;
-- atlas:nolint VW101
DROP VIEW quiet CASCADE;
