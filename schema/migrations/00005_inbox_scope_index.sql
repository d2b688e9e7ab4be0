-- +goose Up
-- The inbox reads "tasks waiting for my role within my units": unit_path LIKE '<my unit's path>%'.
-- PostgreSQL turns a prefix LIKE into an index range only under the C collation or with a pattern
-- operator class, and databases are normally created with a language collation (the postgres
-- image's en_US.utf8, or C.UTF-8, which PostgreSQL does not treat as C). tasks_inbox then narrowed
-- by state and role alone: a township user's page fetched every open task of that role in the
-- whole county and filtered them by path (1,000,000 tasks: ~12,000 heap rows, p99 16 ms; see
-- docs/benchmarks.md, workload 5). Rebuilt with text_pattern_ops, the path prefix is part of the
-- index range. On SQLite the token expands to nothing and the index is the same as before.
DROP INDEX tasks_inbox;
CREATE INDEX tasks_inbox ON tasks(state, candidate_role, unit_path {{PATTERN_OPS}}, due_at);

-- +goose Down
DROP INDEX tasks_inbox;
CREATE INDEX tasks_inbox ON tasks(state, candidate_role, unit_path, due_at);
