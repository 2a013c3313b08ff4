-- atlas:nolint

REVOKE SELECT ON t FROM pg_monitor;
