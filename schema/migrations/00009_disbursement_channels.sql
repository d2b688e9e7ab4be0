-- +goose Up
-- The channels a sign-off may pay through (store.DisbursementChannels), in the order the console
-- offers them; an admin maintains the list. The 惠民惠农一卡通 is how Hubei pays subsidies, and
-- what a sign-off without a channel has always used (workflows.DefaultChannel).
CREATE TABLE disbursement_channels (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
INSERT INTO disbursement_channels (name, position) VALUES ('一卡通', 1);

-- +goose Down
DROP TABLE disbursement_channels;
