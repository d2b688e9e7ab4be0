-- +goose Up
-- Programmes that exclude each other in one term share an exclusive group: a student holds at
-- most one programme of a group per term (api checkApplication). The living allowances for
-- boarders (寄宿生生活补助) are one per student per term whatever the stage, so every living-*
-- programme already on record joins the group "living". '' is a programme that stacks freely.
ALTER TABLE subsidy_programmes ADD COLUMN exclusive_group TEXT NOT NULL DEFAULT '';
UPDATE subsidy_programmes SET exclusive_group = 'living' WHERE code LIKE 'living-%';

-- +goose Down
ALTER TABLE subsidy_programmes DROP COLUMN exclusive_group;
