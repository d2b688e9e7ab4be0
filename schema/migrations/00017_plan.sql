-- +goose Up
-- The work plan (issue 24): plans and their task lists, progress reports, the names a list may
-- give a section, 包保 contacts, and the schools' countable duties of a term.
CREATE TABLE plans (
    id          TEXT PRIMARY KEY,
    year        INTEGER NOT NULL,
    title       TEXT NOT NULL,
    doc_no      TEXT NOT NULL DEFAULT '',
    unit_id     TEXT NOT NULL REFERENCES org_units(id), -- the poverty-alleviation office that keeps it and reviews its tasks
    unit_path   TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  {{TIME}} NOT NULL
);
CREATE INDEX plans_year ON plans(year, created_at);

CREATE TABLE plan_tasks (
    id             TEXT PRIMARY KEY,
    plan_id        TEXT NOT NULL REFERENCES plans(id),
    seq            INTEGER NOT NULL,
    level1         TEXT NOT NULL,
    level2         TEXT NOT NULL DEFAULT '',
    description    TEXT NOT NULL,
    lead_unit_id   TEXT NOT NULL REFERENCES org_units(id),
    lead_unit_path TEXT NOT NULL,
    due_on         TEXT NOT NULL,
    due_at         {{TIME}} NOT NULL,
    state          TEXT NOT NULL,
    percent        INTEGER NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    summary        TEXT NOT NULL DEFAULT '',
    evidence_note  TEXT NOT NULL DEFAULT '',
    review_note    TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL,
    created_at     {{TIME}} NOT NULL,
    updated_at     {{TIME}} NOT NULL,
    closed_at      {{TIME}}
);
CREATE INDEX plan_tasks_plan ON plan_tasks(plan_id, seq);
CREATE INDEX plan_tasks_lead ON plan_tasks(lead_unit_path {{PATTERN_OPS}}, state);
CREATE INDEX plan_tasks_state ON plan_tasks(state);

-- The cooperating sections (配合股室) of a task, in the list's order.
CREATE TABLE plan_task_units (
    task_id   TEXT NOT NULL REFERENCES plan_tasks(id),
    unit_id   TEXT NOT NULL REFERENCES org_units(id),
    unit_path TEXT NOT NULL,
    pos       INTEGER NOT NULL,
    PRIMARY KEY (task_id, unit_id)
);
CREATE INDEX plan_task_units_path ON plan_task_units(unit_path {{PATTERN_OPS}});

CREATE TABLE plan_task_reports (
    id            TEXT PRIMARY KEY,
    task_id       TEXT NOT NULL REFERENCES plan_tasks(id),
    unit_id       TEXT NOT NULL REFERENCES org_units(id),
    summary       TEXT NOT NULL,
    evidence_note TEXT NOT NULL DEFAULT '',
    percent       INTEGER NOT NULL,
    by_user       TEXT NOT NULL,
    reported_at   {{TIME}} NOT NULL
);
CREATE INDEX plan_task_reports_task ON plan_task_reports(task_id, reported_at);

-- Names a task list gives a unit other than its own name (资助中心 for 县学生资助管理中心).
CREATE TABLE unit_aliases (
    alias   TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL REFERENCES org_units(id)
);

-- 包保 contacts (四(二)2): who contacted which unit they answer for, when and how.
CREATE TABLE contacts (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    unit_id       TEXT NOT NULL REFERENCES org_units(id),
    unit_path     TEXT NOT NULL,
    contacted_on  TEXT NOT NULL,
    contacted_at  {{TIME}} NOT NULL,
    method        TEXT NOT NULL,
    summary       TEXT NOT NULL,
    evidence_note TEXT NOT NULL DEFAULT '',
    recorded_at   {{TIME}} NOT NULL,
    UNIQUE (user_id, unit_id, contacted_on)
);
CREATE INDEX contacts_unit ON contacts(unit_id, contacted_at);
CREATE INDEX contacts_path ON contacts(unit_path {{PATTERN_OPS}}, contacted_at);

-- A school's countable duties of a term (annex 2): articles in county media, progress reports.
CREATE TABLE school_duty_records (
    id            TEXT PRIMARY KEY,
    unit_id       TEXT NOT NULL REFERENCES org_units(id),
    unit_path     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    term          TEXT NOT NULL,
    done_on       TEXT NOT NULL,
    done_at       {{TIME}} NOT NULL,
    title         TEXT NOT NULL,
    outlet        TEXT NOT NULL DEFAULT '',
    evidence_note TEXT NOT NULL DEFAULT '',
    by_user       TEXT NOT NULL,
    recorded_at   {{TIME}} NOT NULL
);
CREATE INDEX school_duty_records_unit ON school_duty_records(unit_id, kind, done_at);
CREATE INDEX school_duty_records_path ON school_duty_records(unit_path {{PATTERN_OPS}}, term);

-- +goose Down
DROP TABLE school_duty_records;
DROP TABLE contacts;
DROP TABLE unit_aliases;
DROP TABLE plan_task_reports;
DROP TABLE plan_task_units;
DROP TABLE plan_tasks;
DROP TABLE plans;
