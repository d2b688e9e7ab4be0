-- +goose Up
-- Spreadsheet imports (issue 23). The uploaded file is kept with its import, so that the job that
-- checks and applies it (a Temporal activity, which may run on another process or again after a
-- restart) reads exactly what was uploaded, and so that the error workbook can be built from it.
CREATE TABLE imports (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    mode         TEXT NOT NULL,
    dry_run      {{BOOL}} NOT NULL,
    file_name    TEXT NOT NULL,
    content      {{BYTES}} NOT NULL,
    sha256       TEXT NOT NULL,
    state        TEXT NOT NULL,
    rows_total   INTEGER NOT NULL DEFAULT 0,
    rows_read    INTEGER NOT NULL DEFAULT 0,
    valid        INTEGER NOT NULL DEFAULT 0,
    invalid      INTEGER NOT NULL DEFAULT 0,
    applied      {{BOOL}} NOT NULL DEFAULT {{FALSE}},
    created      INTEGER NOT NULL DEFAULT 0,
    updated      INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    errors_json  TEXT NOT NULL DEFAULT '[]',
    changes_json TEXT NOT NULL DEFAULT '[]',
    failure      TEXT NOT NULL DEFAULT '',
    actor_json   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   {{TIME}} NOT NULL,
    finished_at  {{TIME}}
);
CREATE INDEX imports_creator ON imports(created_by, created_at);

-- The registers other offices keep, as imported: one row per person, keyed by ID-card number.
-- 建档立卡 households' members (the poverty-alleviation office's registry).
CREATE TABLE poverty_members (
    id_card_no    TEXT PRIMARY KEY,
    household_id  TEXT NOT NULL,
    name          TEXT NOT NULL,
    relation      TEXT NOT NULL DEFAULT '',
    township_code TEXT NOT NULL,
    village       TEXT NOT NULL DEFAULT '',
    import_id     TEXT NOT NULL,
    updated_at    {{TIME}} NOT NULL
);
CREATE INDEX poverty_members_township ON poverty_members(township_code);

-- The disabled persons' federation's register (残疾人证).
CREATE TABLE disability_register (
    id_card_no       TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    disability_type  TEXT NOT NULL,
    disability_grade TEXT NOT NULL DEFAULT '',
    certificate_no   TEXT NOT NULL DEFAULT '',
    import_id        TEXT NOT NULL,
    updated_at       {{TIME}} NOT NULL
);

-- The household registration roll (户籍): the children of a township, from the police station.
CREATE TABLE household_roll (
    id_card_no    TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    sex           TEXT NOT NULL,
    birth_date    TEXT NOT NULL,
    township_code TEXT NOT NULL,
    village       TEXT NOT NULL DEFAULT '',
    guardian      TEXT NOT NULL DEFAULT '',
    import_id     TEXT NOT NULL,
    updated_at    {{TIME}} NOT NULL
);
CREATE INDEX household_roll_township ON household_roll(township_code, birth_date);

-- Who is actually in school (在校情况), per student and term, as the school reports it.
CREATE TABLE attendance (
    student_id       TEXT NOT NULL REFERENCES students(id),
    term             TEXT NOT NULL,
    present          {{BOOL}} NOT NULL,
    last_attended_on TEXT NOT NULL DEFAULT '',
    import_id        TEXT NOT NULL,
    updated_at       {{TIME}} NOT NULL,
    PRIMARY KEY (student_id, term)
);

-- 四查三比对: each run of a township's cross-check for a term, and the children it flagged. A
-- child is flagged once per township and term (person_key: the ID-card number, or the student's
-- id); a later run updates the reasons of an open suspect and leaves a decided one as decided.
CREATE TABLE cross_checks (
    id            TEXT PRIMARY KEY,
    township_code TEXT NOT NULL,
    term          TEXT NOT NULL,
    run_by        TEXT NOT NULL,
    run_at        {{TIME}} NOT NULL,
    counts_json   TEXT NOT NULL
);
CREATE INDEX cross_checks_township ON cross_checks(township_code, term, run_at);

CREATE TABLE cross_check_suspects (
    id            TEXT PRIMARY KEY,
    township_code TEXT NOT NULL,
    term          TEXT NOT NULL,
    person_key    TEXT NOT NULL,
    id_card_no    TEXT NOT NULL DEFAULT '',
    student_id    TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL,
    birth_date    TEXT NOT NULL DEFAULT '',
    village       TEXT NOT NULL DEFAULT '',
    unit_code     TEXT NOT NULL,
    unit_path     TEXT NOT NULL,
    reasons       TEXT NOT NULL,
    state         TEXT NOT NULL,
    clear_reason  TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    case_id       TEXT NOT NULL DEFAULT '',
    decided_by    TEXT NOT NULL DEFAULT '',
    decided_at    {{TIME}},
    check_id      TEXT NOT NULL,
    found_at      {{TIME}} NOT NULL,
    UNIQUE (township_code, term, person_key)
);
CREATE INDEX cross_check_suspects_unit ON cross_check_suspects(unit_path {{PATTERN_OPS}}, term, state);

-- +goose Down
DROP TABLE cross_check_suspects;
DROP TABLE cross_checks;
DROP TABLE attendance;
DROP TABLE household_roll;
DROP TABLE disability_register;
DROP TABLE poverty_members;
DROP TABLE imports;
