-- +goose Up
CREATE TABLE inspection_rounds (
    id             TEXT PRIMARY KEY,
    term           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    planned_on     TEXT NOT NULL,
    unit_id        TEXT NOT NULL REFERENCES org_units(id), -- the inspecting unit (督导办, or a township's central school)
    unit_path      TEXT NOT NULL,
    reviewer_role  TEXT NOT NULL,                          -- who reviews its findings' rectifications there
    state          TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     {{TIME}} NOT NULL
);
CREATE INDEX inspection_rounds_term ON inspection_rounds(term, created_at);

CREATE TABLE inspection_round_units (
    round_id  TEXT NOT NULL REFERENCES inspection_rounds(id),
    unit_id   TEXT NOT NULL REFERENCES org_units(id),
    unit_path TEXT NOT NULL,
    PRIMARY KEY (round_id, unit_id)
);
CREATE INDEX inspection_round_units_path ON inspection_round_units(unit_path {{PATTERN_OPS}});

CREATE TABLE inspection_findings (
    id               TEXT PRIMARY KEY,
    round_id         TEXT NOT NULL REFERENCES inspection_rounds(id),
    workflow_id      TEXT NOT NULL,
    unit_id          TEXT NOT NULL REFERENCES org_units(id),
    unit_path        TEXT NOT NULL,
    area             TEXT NOT NULL,
    severity         TEXT NOT NULL,
    description      TEXT NOT NULL,
    responsible_id   TEXT NOT NULL DEFAULT '',
    rectify_by       {{TIME}} NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    summary          TEXT NOT NULL DEFAULT '',
    evidence_note    TEXT NOT NULL DEFAULT '',
    review_note      TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL,
    created_at       {{TIME}} NOT NULL,
    updated_at       {{TIME}} NOT NULL,
    closed_at        {{TIME}}
);
CREATE INDEX inspection_findings_round ON inspection_findings(round_id, created_at);
CREATE INDEX inspection_findings_unit ON inspection_findings(unit_path {{PATTERN_OPS}}, state);

-- +goose Down
DROP TABLE inspection_findings;
DROP TABLE inspection_round_units;
DROP TABLE inspection_rounds;
