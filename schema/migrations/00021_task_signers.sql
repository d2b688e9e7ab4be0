-- +goose Up
-- Multi-approver steps and added signers (会签/或签/票签/依次, 加签·减签; issue 18). A step is
-- several tasks, one per signer: step_id is the id of the step's first task (the one its process
-- waits on; '' for a task on its own), signing how this task's signer signs (the step's mode:
-- all, any, ratio:2/3, sequence; or before, after, parallel for a signer added to the task
-- added_to).
ALTER TABLE tasks ADD COLUMN step_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN signing TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN added_to TEXT NOT NULL DEFAULT '';
-- Who may withdraw the case at this task (撤回: the applicant, while nobody has taken it up), so
-- that the task's page offers them the button; the workflow's validator decides.
ALTER TABLE tasks ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
-- Why a case was copied to a person: '' by a person through a task (抄送), 'auto' by a rule of the
-- registry (an accountability decision to the bureau leaders), 'unstaffed' to the admins when
-- nobody could act on a task at its unit and it went to the superior unit. label says what the
-- copy is about.
ALTER TABLE case_cc ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE case_cc ADD COLUMN label TEXT NOT NULL DEFAULT '';
-- Who held the task when its rung fired (its assignee, or its delegate): after a transfer, the
-- next rung names the new holder.
ALTER TABLE escalations ADD COLUMN holder_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE escalations DROP COLUMN holder_id;
ALTER TABLE case_cc DROP COLUMN label;
ALTER TABLE case_cc DROP COLUMN reason;
ALTER TABLE tasks DROP COLUMN owner_id;
ALTER TABLE tasks DROP COLUMN added_to;
ALTER TABLE tasks DROP COLUMN signing;
ALTER TABLE tasks DROP COLUMN step_id;
