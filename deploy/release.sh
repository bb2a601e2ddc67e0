#!/usr/bin/env bash
# One release step, before the new code serves anything (README "Deploying", "Upgrading without downtime"):
# the configuration check, the static files (hashed names, so old pages keep theirs), then the migrations.
# Run it from the new release's directory with the production environment (e.g. `set -a; . /etc/whatsapp-hub/env`).
#
# The migrations take short locks only when they get them quickly: each statement waits at most
# MIGRATION_LOCK_TIMEOUT for its lock (so a migration never queues every query of the API behind a long transaction),
# and a migration that timed out is tried again (MIGRATION_ATTEMPTS); index builds (CREATE INDEX CONCURRENTLY) wait
# as long as they need, holding nobody up (whatsapp_hub/safe_migrations.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}

"$PYTHON" manage.py check --deploy --fail-level ERROR
"$PYTHON" manage.py collectstatic --noinput --verbosity 0

attempts=${MIGRATION_ATTEMPTS:-5}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for attempt in $(seq 1 "$attempts"); do
  if PGOPTIONS="-c lock_timeout=${MIGRATION_LOCK_TIMEOUT:-5s} ${PGOPTIONS:-}" \
    "$PYTHON" manage.py migrate --noinput 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    exit 0
  fi
  if ! grep -q "lock timeout" "$log"; then
    exit 1  # not a lock that was busy: nothing to wait for
  fi
  if [ "$attempt" -lt "$attempts" ]; then
    echo "release.sh: a migration did not get its lock in time (attempt $attempt of $attempts); again in $((attempt * 10)) s" >&2
    sleep $((attempt * 10))
  fi
done
echo "release.sh: the migrations did not get their locks $attempts times: look for long transactions (pg_stat_activity)" >&2
exit 1
