-- +goose Up
-- Signed checkpoints of the audit trail's head (issue 19): the hash chain alone can be recomputed
-- by whoever can write audit_log; a checkpoint's Ed25519 signature, by a key kept outside the
-- database (JIAOFU_AUDIT_KEY_FILE), cannot. Verification checks the chain against every one, so a
-- rewritten and re-chained trail, or one whose newest entries were removed, no longer matches.
-- public_key is the signer's, for whoever checks a published checkpoint; the service itself
-- checks them against its own key, never this column.
CREATE TABLE audit_checkpoints (
    id         {{SERIAL}},
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    signed_at  {{TIME}} NOT NULL,
    signature  TEXT NOT NULL,
    public_key TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints(seq);

-- +goose Down
DROP TABLE audit_checkpoints;
