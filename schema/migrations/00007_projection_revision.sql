-- +goose Up
-- Projections never go backwards (store.ProjectTask): each task row carries the revision of the
-- workflow's projection it holds (TaskState.Rev, counted by the workflow), and a write lands
-- only when it is newer. 0 is a row written before revisions existed.
ALTER TABLE tasks ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
-- An escalation keeps when its rung fell due (due_at, the old created_at) apart from when it was
-- put on record (recorded_at): after an outage or a restart the two are far apart. Rows recorded
-- before this migration did not note it; their due time is the best known.
ALTER TABLE escalations RENAME COLUMN created_at TO due_at;
ALTER TABLE escalations ADD COLUMN recorded_at {{TIME}};
UPDATE escalations SET recorded_at = due_at;

-- +goose Down
ALTER TABLE escalations DROP COLUMN recorded_at;
ALTER TABLE escalations RENAME COLUMN due_at TO created_at;
ALTER TABLE tasks DROP COLUMN revision;
