#!/bin/sh
# Registers what jiaofu needs in Temporal, then exits. Run by the one-shot
# `temporal-init` service (temporalio/admin-tools image, `temporal` CLI) once
# the server is up, and before jiaofu-api and jiaofu-worker start.
#
#   - namespace $TEMPORAL_NAMESPACE (the standalone server image, unlike the
#     retired auto-setup image and `temporal server start-dev`, creates none)
#     with retention $TEMPORAL_NAMESPACE_RETENTION;
#   - the custom search attributes the workflows upsert. With SQL visibility
#     they belong to a namespace, so they are created in that namespace.
#
# Idempotent, so it runs on every `docker compose up`:
#   - an existing namespace gets its retention set (converges on the value
#     here) instead of failing on "already exists";
#   - the server treats re-adding an attribute with the same type as a no-op;
#     an existing attribute of a different type fails the job on purpose.
set -eu

ADDRESS=${TEMPORAL_ADDRESS:-temporal:7233}
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_NAMESPACE_RETENTION:-720h}
MAX_ATTEMPTS=${INIT_MAX_ATTEMPTS:-60}
SLEEP_SECONDS=${INIT_SLEEP_SECONDS:-2}

t() {
  temporal --address "$ADDRESS" "$@"
}

# The server's healthcheck only proves the gRPC port is open; history shards
# and the namespace registry can still be warming up, and a namespace created a
# moment ago may not be in every cache yet. Retry each step rather than fail.
retry() {
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
      echo "Giving up after $MAX_ATTEMPTS attempts: $*" >&2
      return 1
    fi
    echo "Not done yet, retrying in ${SLEEP_SECONDS}s ($attempt/$MAX_ATTEMPTS): $*"
    attempt=$((attempt + 1))
    sleep "$SLEEP_SECONDS"
  done
}

ensure_namespace() {
  if t operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
    t operator namespace update --namespace "$NAMESPACE" --retention "$RETENTION"
  else
    t operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION"
  fi
}

ensure_search_attributes() {
  t operator search-attribute create --namespace "$NAMESPACE" \
    --name JiaofuProcess --type Keyword \
    --name JiaofuUnit --type Keyword \
    --name JiaofuState --type Keyword
}

echo "Waiting for Temporal at $ADDRESS to report SERVING..."
retry t operator cluster health

echo "Ensuring namespace '$NAMESPACE' (retention $RETENTION)..."
retry ensure_namespace

echo "Ensuring search attributes in '$NAMESPACE'..."
retry ensure_search_attributes

t operator search-attribute list --namespace "$NAMESPACE"
echo "Temporal namespace '$NAMESPACE' is ready for jiaofu."
