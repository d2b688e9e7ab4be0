-- +goose Up
CREATE TABLE dropout_cases (
    id               TEXT PRIMARY KEY,
    workflow_id      TEXT NOT NULL,
    student_id       TEXT NOT NULL REFERENCES students(id),
    unit_id          TEXT NOT NULL REFERENCES org_units(id),
    unit_path        TEXT NOT NULL,
    teacher_id       TEXT NOT NULL DEFAULT '',
    opened_by        TEXT NOT NULL,
    reason           TEXT NOT NULL,
    last_attended_on TEXT NOT NULL,
    state            TEXT NOT NULL,
    outcome          TEXT NOT NULL DEFAULT '',
    outcome_note     TEXT NOT NULL DEFAULT '',
    escalation_level INTEGER NOT NULL DEFAULT 0,
    created_at       {{TIME}} NOT NULL,
    updated_at       {{TIME}} NOT NULL
);
CREATE INDEX dropout_cases_unit ON dropout_cases(unit_path, state);
CREATE INDEX dropout_cases_student ON dropout_cases(student_id);

CREATE TABLE dropout_attempts (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES dropout_cases(id),
    method     TEXT NOT NULL,
    notes      TEXT NOT NULL,
    visitors   TEXT NOT NULL DEFAULT '',
    by_user    TEXT NOT NULL,
    at         {{TIME}} NOT NULL
);
CREATE INDEX dropout_attempts_case ON dropout_attempts(case_id, at);

-- +goose Down
DROP TABLE dropout_attempts;
DROP TABLE dropout_cases;
