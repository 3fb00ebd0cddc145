#!/bin/sh
# Applies every $MIGRATIONS_DIR/*.sql once, in name order, recording each in schema_migrations.
# libpq takes the connection from PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD.
# One psql session does it all so that a session advisory lock keeps concurrent runs (several
# API pods starting with the init container) from applying the same file twice.
set -eu

dir="${MIGRATIONS_DIR:-/migrations}"
wait_seconds="${MIGRATIONS_WAIT_SECONDS:-60}"

if [ -z "${PGHOST:-}" ]; then
  echo "migrate: PGHOST is not set (give env.DATABASE_HOST or a Secret with PGHOST)" >&2
  exit 1
fi

waited=0
until pg_isready --quiet; do
  if [ "$waited" -ge "$wait_seconds" ]; then
    echo "migrate: postgres at ${PGHOST}:${PGPORT:-5432} did not accept connections within ${wait_seconds}s" >&2
    exit 1
  fi
  echo "migrate: waiting for postgres at ${PGHOST}:${PGPORT:-5432}"
  sleep 2
  waited=$((waited + 2))
done

# printf, not echo: dash's echo would eat the backslashes of psql's meta-commands.
sql() {
  printf '%s\n' "$1"
}

# A file name becomes an SQL literal below, so only plain names are accepted.
for file in "$dir"/*.sql; do
  [ -e "$file" ] || continue
  case "${file##*/}" in
    *[!A-Za-z0-9._-]*)
      echo "migrate: refusing ${file##*/}: names may only use letters, digits, '.', '_' and '-'" >&2
      exit 1
      ;;
  esac
done

{
  # IF NOT EXISTS would otherwise log a NOTICE on every run.
  sql "SET client_min_messages = warning;"
  sql "SELECT pg_advisory_lock(hashtext('schema_migrations')) AS locked \\gset"
  sql "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
  for file in "$dir"/*.sql; do
    [ -e "$file" ] || continue
    version="${file##*/}"
    version="${version%.sql}"
    sql "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = '$version') AS applied \\gset"
    sql "\\if :applied"
    sql "\\echo 'migrate: $version skipped (already applied)'"
    sql "\\else"
    sql "BEGIN;"
    sql "\\i '$file'"
    sql "INSERT INTO schema_migrations (version) VALUES ('$version');"
    sql "COMMIT;"
    sql "\\echo 'migrate: $version applied'"
    sql "\\endif"
  done
  sql "SELECT count(*) AS total FROM schema_migrations \\gset"
  sql "\\echo 'migrate: done,' :total 'migrations recorded'"
} | psql --no-psqlrc --quiet --set ON_ERROR_STOP=1
