-- +goose Up
-- Who answers (包保责任人) for the unit an escalation is about, found on the responsibility chain
-- when the rung fires: the person the supervision office holds to account.
ALTER TABLE escalations ADD COLUMN responsible_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE escalations DROP COLUMN responsible_id;
