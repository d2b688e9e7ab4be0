-- +goose Up
-- Org units form a tree; path is the materialized list of codes ("/JS/JS-T01/JS-S0101/") so that
-- "this unit and below" is a prefix test in SQL and in workflow validators alike.
CREATE TABLE org_units (
    id            TEXT PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    parent_id     TEXT REFERENCES org_units(id),
    path          TEXT NOT NULL UNIQUE,
    township_code TEXT NOT NULL DEFAULT '',
    created_at    {{TIME}} NOT NULL
);
CREATE INDEX org_units_parent ON org_units(parent_id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    active        {{BOOL}} NOT NULL DEFAULT {{TRUE}},
    created_at    {{TIME}} NOT NULL
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id),
    role    TEXT NOT NULL,
    unit_id TEXT NOT NULL REFERENCES org_units(id),
    PRIMARY KEY (user_id, role, unit_id)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_at {{TIME}} NOT NULL,
    expires_at {{TIME}} NOT NULL
);

CREATE TABLE students (
    id                 TEXT PRIMARY KEY,
    student_no         TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    sex                TEXT NOT NULL,
    birth_date         TEXT NOT NULL,
    id_card_no         TEXT NOT NULL,
    unit_id            TEXT NOT NULL REFERENCES org_units(id),
    grade              INTEGER NOT NULL,
    class              TEXT NOT NULL,
    poverty_registered {{BOOL}} NOT NULL DEFAULT {{FALSE}},
    household_id       TEXT NOT NULL DEFAULT '',
    left_behind        {{BOOL}} NOT NULL DEFAULT {{FALSE}},
    migrant            {{BOOL}} NOT NULL DEFAULT {{FALSE}},
    disability         TEXT NOT NULL DEFAULT '',
    enrolled           {{BOOL}} NOT NULL DEFAULT {{TRUE}},
    created_at         {{TIME}} NOT NULL
);
CREATE INDEX students_unit ON students(unit_id);
CREATE UNIQUE INDEX students_id_card ON students(id_card_no) WHERE id_card_no <> '';

-- 包保责任: which person answers for a unit, a class of a unit, or a student.
CREATE TABLE responsibilities (
    subject_kind TEXT NOT NULL,            -- unit | class | student
    subject_id   TEXT NOT NULL,            -- unit id, "unit id/class", or student id
    user_id      TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (subject_kind, subject_id)
);

-- Human tasks (待办) projected from workflows: the workflow is the source of truth, this table is
-- what makes an inbox an indexed read.
CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,
    workflow_id      TEXT NOT NULL,
    process          TEXT NOT NULL,
    kind             TEXT NOT NULL,
    case_id          TEXT NOT NULL,
    title            TEXT NOT NULL,
    candidate_role   TEXT NOT NULL,
    unit_id          TEXT NOT NULL REFERENCES org_units(id),
    unit_path        TEXT NOT NULL,
    assignee_id      TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    outcome          TEXT NOT NULL DEFAULT '',
    outcomes         TEXT NOT NULL DEFAULT '',
    due_at           {{TIME}} NOT NULL,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    urge_count       INTEGER NOT NULL DEFAULT 0,
    created_at       {{TIME}} NOT NULL,
    completed_at     {{TIME}},
    completed_by     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tasks_inbox ON tasks(state, candidate_role, unit_path, due_at);
CREATE INDEX tasks_assignee ON tasks(assignee_id, state, due_at);
CREATE INDEX tasks_case ON tasks(case_id);

-- The escalation ladder is data: each task kind has rungs, each rung fires `after` past the due
-- time (a calendar spec such as 1wd or 30s) and goes to a target (remind, superior, township_gov,
-- county_hq, supervision).
CREATE TABLE escalation_rungs (
    task_kind TEXT NOT NULL,
    rung      INTEGER NOT NULL,
    after     TEXT NOT NULL,
    target    TEXT NOT NULL,
    PRIMARY KEY (task_kind, rung)
);

CREATE TABLE escalations (
    id          TEXT PRIMARY KEY,
    process     TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    task_id     TEXT NOT NULL DEFAULT '',
    task_kind   TEXT NOT NULL DEFAULT '',
    rung        INTEGER NOT NULL,
    target      TEXT NOT NULL,
    unit_id     TEXT NOT NULL REFERENCES org_units(id),
    unit_path   TEXT NOT NULL,
    source_unit TEXT NOT NULL,
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL,
    decision    TEXT NOT NULL DEFAULT '',
    created_at  {{TIME}} NOT NULL,
    closed_at   {{TIME}},
    closed_by   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX escalations_target ON escalations(target, state, created_at);
CREATE INDEX escalations_unit ON escalations(unit_path, state);

-- Append-only, hash-chained audit trail: each row's hash covers its content and the previous
-- row's hash, so editing or deleting a row breaks verification from that row on.
CREATE TABLE audit_log (
    seq         {{SERIAL}},
    event_key   TEXT NOT NULL UNIQUE,
    at          {{TIME}} NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    role        TEXT NOT NULL,
    unit_code   TEXT NOT NULL,
    action      TEXT NOT NULL,
    process     TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json  TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_case ON audit_log(case_id, seq);

-- Admin additions to the embedded holiday calendar (e.g. next year's list when it is published).
CREATE TABLE calendar_days (
    day  TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    name TEXT NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE calendar_days;
DROP TABLE audit_log;
DROP TABLE escalations;
DROP TABLE escalation_rungs;
DROP TABLE tasks;
DROP TABLE responsibilities;
DROP TABLE students;
DROP TABLE sessions;
DROP TABLE user_roles;
DROP TABLE users;
DROP TABLE org_units;
