-- +goose Up
CREATE TABLE subsidy_programmes (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    stage      TEXT NOT NULL,
    active     {{BOOL}} NOT NULL DEFAULT {{TRUE}},
    created_at {{TIME}} NOT NULL
);

-- One row per application; id is the workflow id, derived from (student, programme, term).
CREATE TABLE subsidy_applications (
    id             TEXT PRIMARY KEY,
    student_id     TEXT NOT NULL REFERENCES students(id),
    programme_code TEXT NOT NULL,
    term           TEXT NOT NULL,
    unit_id        TEXT NOT NULL REFERENCES org_units(id),
    applicant_id   TEXT NOT NULL,
    amount_fen     BIGINT NOT NULL DEFAULT 0,
    priority       {{BOOL}} NOT NULL DEFAULT {{FALSE}},
    evidence_note  TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL,
    batch_id       TEXT NOT NULL DEFAULT '',
    reviewer_id    TEXT NOT NULL DEFAULT '',
    created_at     {{TIME}} NOT NULL,
    updated_at     {{TIME}} NOT NULL,
    UNIQUE (student_id, programme_code, term)
);
CREATE INDEX subsidy_applications_unit ON subsidy_applications(unit_id, term, state);

CREATE TABLE publicity_batches (
    id         TEXT PRIMARY KEY,
    unit_id    TEXT NOT NULL REFERENCES org_units(id),
    term       TEXT NOT NULL,
    state      TEXT NOT NULL,
    opened_by  TEXT NOT NULL,
    opened_at  {{TIME}} NOT NULL,
    ends_at    {{TIME}},
    closed_at  {{TIME}}
);
CREATE INDEX publicity_batches_unit ON publicity_batches(unit_id, term);

CREATE TABLE objections (
    id             TEXT PRIMARY KEY,
    batch_id       TEXT NOT NULL REFERENCES publicity_batches(id),
    application_id TEXT NOT NULL REFERENCES subsidy_applications(id),
    reason         TEXT NOT NULL,
    contact        TEXT NOT NULL,
    state          TEXT NOT NULL,
    decision       TEXT NOT NULL DEFAULT '',
    created_at     {{TIME}} NOT NULL,
    decided_at     {{TIME}}
);
CREATE INDEX objections_batch ON objections(batch_id);

-- Exactly one disbursement per application: the primary key makes the activity idempotent.
CREATE TABLE disbursements (
    application_id TEXT PRIMARY KEY REFERENCES subsidy_applications(id),
    amount_fen     BIGINT NOT NULL,
    channel        TEXT NOT NULL,
    disbursed_at   {{TIME}} NOT NULL
);

-- +goose Down
DROP TABLE disbursements;
DROP TABLE objections;
DROP TABLE publicity_batches;
DROP TABLE subsidy_applications;
DROP TABLE subsidy_programmes;
