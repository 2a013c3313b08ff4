SET lock_timeout = '500ms';
ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
-- A validated check implying the bound: no scan.
ALTER TABLE events ATTACH PARTITION events_2028 FOR VALUES FROM ('2028-01-01') TO ('2029-01-01');
ALTER TABLE events DETACH PARTITION events_2024;
CREATE TABLE events_2029 PARTITION OF events FOR VALUES FROM ('2029-01-01') TO ('2030-01-01');
DROP TABLE events_2025;
-- Detached first, dropped as a table of its own.
ALTER TABLE events DETACH PARTITION events_2026 CONCURRENTLY;
-- A partitioned table the file creates has no readers yet.
CREATE TABLE logs (at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE logs_2024 PARTITION OF logs FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
DROP TABLE logs_2024;
