-- +goose Up
CREATE TABLE send_home_plans (
    id                TEXT PRIMARY KEY,
    workflow_id       TEXT NOT NULL,
    student_id        TEXT NOT NULL REFERENCES students(id),
    unit_id           TEXT NOT NULL REFERENCES org_units(id),
    unit_path         TEXT NOT NULL,
    disability_type   TEXT NOT NULL,
    disability_grade  TEXT NOT NULL DEFAULT '',
    teacher_ids       TEXT NOT NULL,
    goals             TEXT NOT NULL DEFAULT '',
    visits_per_period INTEGER NOT NULL,
    period            TEXT NOT NULL,
    min_minutes       INTEGER NOT NULL,
    state             TEXT NOT NULL,
    term_no           INTEGER NOT NULL DEFAULT 1,
    term_start        {{TIME}} NOT NULL,
    term_end          {{TIME}} NOT NULL,
    period_no         INTEGER NOT NULL DEFAULT 0,
    period_start      {{TIME}} NOT NULL,
    period_end        {{TIME}} NOT NULL,
    period_visits     INTEGER NOT NULL DEFAULT 0,
    term_visits       INTEGER NOT NULL DEFAULT 0,
    term_minutes      INTEGER NOT NULL DEFAULT 0,
    term_quota        INTEGER NOT NULL DEFAULT 0,
    missed_periods    INTEGER NOT NULL DEFAULT 0,
    total_visits      INTEGER NOT NULL DEFAULT 0,
    end_reason        TEXT NOT NULL DEFAULT '',
    end_note          TEXT NOT NULL DEFAULT '',
    created_by        TEXT NOT NULL,
    created_at        {{TIME}} NOT NULL,
    updated_at        {{TIME}} NOT NULL
);
CREATE INDEX send_home_plans_unit ON send_home_plans(unit_path, state);
CREATE INDEX send_home_plans_student ON send_home_plans(student_id);

CREATE TABLE send_home_visits (
    id            TEXT PRIMARY KEY,
    plan_id       TEXT NOT NULL REFERENCES send_home_plans(id),
    term_no       INTEGER NOT NULL,
    period_no     INTEGER NOT NULL,
    visited_on    TEXT NOT NULL,
    minutes       INTEGER NOT NULL,
    content       TEXT NOT NULL,
    evidence_note TEXT NOT NULL DEFAULT '',
    teacher_ids   TEXT NOT NULL,
    assessment    {{BOOL}} NOT NULL DEFAULT {{FALSE}},
    by_user       TEXT NOT NULL,
    at            {{TIME}} NOT NULL
);
CREATE INDEX send_home_visits_plan ON send_home_visits(plan_id, at);

-- +goose Down
DROP TABLE send_home_visits;
DROP TABLE send_home_plans;
