-- +goose Up
CREATE TABLE pairings (
    id          TEXT PRIMARY KEY,
    teacher_id  TEXT NOT NULL REFERENCES users(id),
    student_id  TEXT NOT NULL REFERENCES students(id),
    unit_id     TEXT NOT NULL REFERENCES org_units(id),
    unit_path   TEXT NOT NULL,
    class       TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  {{TIME}} NOT NULL
);
CREATE UNIQUE INDEX pairings_one_active ON pairings(student_id) WHERE state = 'active';
CREATE INDEX pairings_unit ON pairings(unit_path {{PATTERN_OPS}}, state);
CREATE INDEX pairings_school ON pairings(unit_id, state);

CREATE TABLE pairing_records (
    id            TEXT PRIMARY KEY,
    pairing_id    TEXT NOT NULL REFERENCES pairings(id),
    kind          TEXT NOT NULL,
    done_on       TEXT NOT NULL,
    done_at       {{TIME}} NOT NULL,
    content       TEXT NOT NULL,
    evidence_note TEXT NOT NULL DEFAULT '',
    by_user       TEXT NOT NULL,
    recorded_at   {{TIME}} NOT NULL,
    UNIQUE (pairing_id, kind, done_on)
);
CREATE INDEX pairing_records_pairing ON pairing_records(pairing_id, done_at);

-- +goose Down
DROP TABLE pairing_records;
DROP TABLE pairings;
