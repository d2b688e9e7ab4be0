-- +goose Up
-- The special hardship fund (特困学生救助基金): one row, the fund's balance (the sum of its ledger),
-- the part of it reserved for approved grants, and how many ledger entries it has. Every change of
-- money is one conditional UPDATE of this row, with its ledger entry and audit entry in the same
-- transaction: the row lock orders concurrent writers on PostgreSQL, SQLite has one writer.
CREATE TABLE hardship_fund (
    id           INTEGER PRIMARY KEY,
    balance_fen  BIGINT NOT NULL,
    reserved_fen BIGINT NOT NULL,
    entries      BIGINT NOT NULL,
    CHECK (reserved_fen >= 0 AND balance_fen >= reserved_fen)
);
INSERT INTO hardship_fund (id, balance_fen, reserved_fen, entries) VALUES (1, 0, 0, 0);

-- Money in: donations, and reversals (kind reversal: the counter-entry of one donation, with a
-- reason). Rows are never edited but for their state, never deleted.
CREATE TABLE hardship_donations (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    reverses_id  TEXT NOT NULL DEFAULT '',
    donor        TEXT NOT NULL,
    donor_kind   TEXT NOT NULL,
    amount_fen   BIGINT NOT NULL CHECK (amount_fen > 0),
    received_on  TEXT NOT NULL,
    reference    TEXT NOT NULL,
    anonymous    {{BOOL}} NOT NULL DEFAULT {{FALSE}},
    reason       TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    confirmed_by TEXT NOT NULL DEFAULT '',
    created_at   {{TIME}} NOT NULL,
    decided_at   {{TIME}}
);
-- A voucher (收据/凭证号) is recorded once: a retried request cannot book a donation twice.
CREATE UNIQUE INDEX hardship_donations_reference ON hardship_donations(reference) WHERE kind = 'donation';
-- A donation is reversed at most once.
CREATE UNIQUE INDEX hardship_donations_reversal ON hardship_donations(reverses_id) WHERE kind = 'reversal';
CREATE INDEX hardship_donations_state ON hardship_donations(state, created_at);

-- The ledger: every movement of the balance, numbered 1, 2, 3 … by the fund's entry count, each
-- with the running balance after it. The sum of the entries is the fund's balance.
CREATE TABLE hardship_ledger (
    no          BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,
    ref_id      TEXT NOT NULL,
    amount_fen  BIGINT NOT NULL,
    balance_fen BIGINT NOT NULL,
    at          {{TIME}} NOT NULL,
    UNIQUE (kind, ref_id)
);
CREATE INDEX hardship_ledger_at ON hardship_ledger(at);

-- Money out: grants, one row per grant (its id is its workflow's id).
CREATE TABLE hardship_grants (
    id            TEXT PRIMARY KEY,
    student_id    TEXT NOT NULL REFERENCES students(id),
    unit_id       TEXT NOT NULL REFERENCES org_units(id),
    unit_path     TEXT NOT NULL,
    amount_fen    BIGINT NOT NULL CHECK (amount_fen > 0),
    reason        TEXT NOT NULL,
    hardship_kind TEXT NOT NULL,
    school_year   TEXT NOT NULL,
    tiers         TEXT NOT NULL,
    state         TEXT NOT NULL,
    applicant_id  TEXT NOT NULL,
    verifier_id   TEXT NOT NULL DEFAULT '',
    approvers     TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    created_at    {{TIME}} NOT NULL,
    updated_at    {{TIME}} NOT NULL,
    approved_at   {{TIME}},
    closed_at     {{TIME}}
);
CREATE INDEX hardship_grants_unit ON hardship_grants(unit_path {{PATTERN_OPS}}, state);
CREATE INDEX hardship_grants_student ON hardship_grants(student_id, created_at);

-- The amount an approved grant holds of the fund until it is paid (spent) or gives it back
-- (released): one row per grant, so a retried reservation reserves once.
CREATE TABLE hardship_reservations (
    grant_id    TEXT PRIMARY KEY REFERENCES hardship_grants(id),
    amount_fen  BIGINT NOT NULL,
    state       TEXT NOT NULL,
    reserved_at {{TIME}} NOT NULL,
    settled_at  {{TIME}}
);
CREATE INDEX hardship_reservations_state ON hardship_reservations(state);

-- Exactly one payment per grant: the primary key makes the disbursement idempotent.
CREATE TABLE hardship_disbursements (
    grant_id     TEXT PRIMARY KEY REFERENCES hardship_grants(id),
    amount_fen   BIGINT NOT NULL,
    channel      TEXT NOT NULL,
    reference    TEXT NOT NULL,
    disbursed_by TEXT NOT NULL,
    disbursed_at {{TIME}} NOT NULL
);

-- +goose Down
DROP TABLE hardship_disbursements;
DROP TABLE hardship_reservations;
DROP TABLE hardship_grants;
DROP TABLE hardship_ledger;
DROP TABLE hardship_donations;
DROP TABLE hardship_fund;
