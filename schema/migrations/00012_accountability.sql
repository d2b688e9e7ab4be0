-- +goose Up
-- The supervision office's accountability desk (问责, issue 16): one record per escalation
-- addressed to the supervision office, opened in the escalation's own transaction
-- (store.RecordEscalation), so nobody forwards anything. unit_code/unit_path are the late unit
-- (the escalation's source unit), responsible_id who answers for it on the 包保 chain, term the
-- school-year term the lateness fell due in (YYYY-YYYY-N, China time). A decision records its
-- measures (comma list), the persons it concerns (JSON) and its written note; a decision with
-- organisational handling (组织处理) is due to be carried out within a month (handling_due_at)
-- and is overdue until handling_done_at is set.
CREATE TABLE accountability_records (
    id               TEXT PRIMARY KEY,
    escalation_id    TEXT NOT NULL UNIQUE,
    process          TEXT NOT NULL,
    case_id          TEXT NOT NULL,
    task_kind        TEXT NOT NULL DEFAULT '',
    title            TEXT NOT NULL,
    unit_code        TEXT NOT NULL,
    unit_path        TEXT NOT NULL,
    responsible_id   TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL,
    term             TEXT NOT NULL,
    state            TEXT NOT NULL,
    due_at           {{TIME}} NOT NULL,
    opened_at        {{TIME}} NOT NULL,
    opened_by        TEXT NOT NULL,
    measures         TEXT NOT NULL DEFAULT '',
    persons          TEXT NOT NULL DEFAULT '[]',
    note             TEXT NOT NULL DEFAULT '',
    decided_by       TEXT NOT NULL DEFAULT '',
    decided_at       {{TIME}},
    handling_due_at  {{TIME}},
    handling_done_at {{TIME}},
    handling_note    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX accountability_desk ON accountability_records(state, opened_at);
CREATE INDEX accountability_term ON accountability_records(term, unit_code);
CREATE INDEX accountability_unit ON accountability_records(unit_path {{PATTERN_OPS}}, state);
CREATE INDEX accountability_case ON accountability_records(case_id);
CREATE INDEX accountability_handling ON accountability_records(handling_due_at) WHERE handling_done_at IS NULL AND handling_due_at IS NOT NULL;

-- +goose Down
DROP TABLE accountability_records;
