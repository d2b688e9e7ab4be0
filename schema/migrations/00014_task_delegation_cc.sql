-- +goose Up
-- Delegation with the owner kept (委派): a delegated task stays its owner's (assignee_id) and is
-- in the delegate's inbox (delegate_id) until they resolve it.
ALTER TABLE tasks ADD COLUMN delegate_id TEXT NOT NULL DEFAULT '';
CREATE INDEX tasks_delegate ON tasks(delegate_id, state, due_at, id) WHERE delegate_id <> '';
-- The done list (已办): who acted on which task, and how last (completed, resolved, delegated,
-- transferred), written with the task's projection and audit entry (store.ProjectTask). A task
-- transferred or delegated is on the list of each person who really acted on it.
CREATE TABLE task_acts (
    task_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    action  TEXT NOT NULL,
    at      {{TIME}} NOT NULL,
    PRIMARY KEY (task_id, user_id)
);
CREATE INDEX task_acts_user ON task_acts(user_id, at);
-- Tasks completed before the list existed are their completer's.
INSERT INTO task_acts (task_id, user_id, action, at)
    SELECT id, completed_by, 'completed', completed_at FROM tasks
    WHERE state = 'done' AND completed_by <> '' AND completed_by <> 'system' AND completed_at IS NOT NULL;
-- Copies (抄送): a case copied to a person through one of its tasks, once per person and case.
-- read_at is when they marked it read (已阅). A copy lets them read that case, nothing more.
CREATE TABLE case_cc (
    case_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    process    TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    title      TEXT NOT NULL,
    unit_path  TEXT NOT NULL,
    by_user    TEXT NOT NULL,
    created_at {{TIME}} NOT NULL,
    read_at    {{TIME}},
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_cc_user ON case_cc(user_id, created_at);

-- +goose Down
DROP TABLE case_cc;
DROP TABLE task_acts;
DROP INDEX tasks_delegate;
ALTER TABLE tasks DROP COLUMN delegate_id;
