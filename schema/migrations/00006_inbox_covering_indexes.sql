-- +goose Up
-- The inbox finds a page's ids before it reads any task row (store.Inbox): each branch — tasks
-- assigned to me, unclaimed tasks of a role in my scope — is answered from one of these indexes
-- alone. Both therefore carry due_at and id (the page's order), and the role index takes
-- assignee_id = '' as an equality before the unit_path prefix range. Before, a township user's
-- page read ~1,200 table rows at 1,000,000 tasks to keep 100 of them (docs/benchmarks.md,
-- workload 5). tasks_assignee holds only claimed tasks: otherwise SQLite, which plans without
-- statistics, answered "unclaimed tasks of my role" (assignee_id = '') from it — every unclaimed
-- task of every role — instead of from tasks_inbox.
DROP INDEX tasks_inbox;
CREATE INDEX tasks_inbox ON tasks(state, candidate_role, assignee_id, unit_path {{PATTERN_OPS}}, due_at, id);
DROP INDEX tasks_assignee;
CREATE INDEX tasks_assignee ON tasks(assignee_id, state, due_at, id) WHERE assignee_id <> '';

-- +goose Down
DROP INDEX tasks_assignee;
CREATE INDEX tasks_assignee ON tasks(assignee_id, state, due_at);
DROP INDEX tasks_inbox;
CREATE INDEX tasks_inbox ON tasks(state, candidate_role, unit_path {{PATTERN_OPS}}, due_at);
