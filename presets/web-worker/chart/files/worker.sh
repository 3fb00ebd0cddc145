#!/bin/sh
# Background worker: pops jobs from a Redis list with BRPOP and logs one line per job, plus a
# heartbeat every WORKER_HEARTBEAT_SECONDS. redis-cli reads the password from REDISCLI_AUTH.
set -eu

queue="${WORKER_QUEUE:-devctl:jobs}"
heartbeat_seconds="${WORKER_HEARTBEAT_SECONDS:-30}"

if [ -z "${REDIS_HOST:-}" ]; then
  echo "worker: REDIS_HOST is not set (give env.REDIS_HOST)" >&2
  exit 1
fi
redis_port="${REDIS_PORT:-6379}"

echo "worker: consuming list ${queue} on ${REDIS_HOST}:${redis_port}"
processed=0
last_heartbeat=$(date +%s)

while true; do
  # BRPOP waits at most one heartbeat period, so an idle worker still reports in; -e makes an
  # error reply (NOAUTH, WRONGPASS) exit non-zero instead of reading as a job.
  if ! reply=$(redis-cli -e -h "$REDIS_HOST" -p "$redis_port" --raw BRPOP "$queue" "$heartbeat_seconds" 2>&1); then
    echo "worker: redis at ${REDIS_HOST}:${redis_port} failed: $(printf '%s' "$reply" | tr '\n' ' '); retrying in 5s" >&2
    sleep 5
    continue
  fi
  # A reply is the list name then the job, which may span lines; a timeout is empty.
  if [ -n "$reply" ]; then
    processed=$((processed + 1))
    echo "worker: job ${processed}: $(printf '%s\n' "$reply" | sed 1d | tr '\n' ' ' | sed 's/ $//')"
  fi
  now=$(date +%s)
  if [ $((now - last_heartbeat)) -ge "$heartbeat_seconds" ]; then
    echo "worker: heartbeat, ${processed} jobs processed"
    last_heartbeat=$now
  fi
done
