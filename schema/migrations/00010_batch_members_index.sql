-- +goose Up
-- A batch's state is read from its entries (store.batchState: entries still in publicity after
-- the period mean a sign-off is pending), for every batch and every application listed: the
-- entries of one batch must be found without reading every application.
CREATE INDEX subsidy_applications_batch ON subsidy_applications(batch_id, state);

-- +goose Down
DROP INDEX subsidy_applications_batch;
