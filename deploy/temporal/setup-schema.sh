#!/bin/sh
# Creates and migrates Temporal's two PostgreSQL databases, then exits.
# Run by the one-shot `temporal-schema` service (temporalio/admin-tools image)
# before the `temporal` server starts; the server refuses to start on a
# missing or outdated schema.
#
# Safe to run on every `docker compose up`, and it is how the schema gets
# upgraded when the server and admin-tools tags are bumped together:
#   - `create` treats "database already exists" as success;
#   - `setup-schema -v 0.0` only creates the version tables if missing and
#     never lowers a recorded version;
#   - `update-schema` applies only the versioned migrations newer than the
#     recorded version.
#
# The password comes from SQL_PASSWORD (read by temporal-sql-tool itself), so
# it never appears in a process list.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (PostgreSQL host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
DB_PORT=${DB_PORT:-5432}
DBNAME=${DBNAME:-temporal}
VISIBILITY_DBNAME=${VISIBILITY_DBNAME:-temporal_visibility}
# Versioned migrations shipped in the admin-tools image; they must come from the
# same release as the temporalio/server image.
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

# depends_on already waits for the postgres healthcheck; this loop only covers
# running the script by hand or a database that is still restarting.
attempt=1
until nc -z -w 2 "$POSTGRES_SEEDS" "$DB_PORT"; do
  if [ "$attempt" -ge 60 ]; then
    echo "PostgreSQL at $POSTGRES_SEEDS:$DB_PORT is not reachable; giving up" >&2
    exit 1
  fi
  echo "Waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT ($attempt/60)..."
  attempt=$((attempt + 1))
  sleep 2
done

sqltool() {
  temporal-sql-tool \
    --plugin postgres12 \
    --endpoint "$POSTGRES_SEEDS" \
    --port "$DB_PORT" \
    --user "$POSTGRES_USER" \
    "$@"
}

setup_db() {
  db=$1
  dir=$2
  echo "== $db: create, set up versioning, migrate ($dir)"
  sqltool --database "$db" create
  sqltool --database "$db" setup-schema -v 0.0
  sqltool --database "$db" update-schema -d "$dir"
}

setup_db "$DBNAME" "$SCHEMA_DIR/temporal/versioned"
setup_db "$VISIBILITY_DBNAME" "$SCHEMA_DIR/visibility/versioned"

echo "Temporal schema is up to date."
