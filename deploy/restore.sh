#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into a new, empty database (and an empty media directory):
#
#   createdb -h HOST -U USER -O OWNER whatsapp_hub_restored
#   deploy/restore.sh BACKUP_PATH postgres://OWNER:PASSWORD@HOST:5432/whatsapp_hub_restored [MEDIA_DIRECTORY]
#
# It checks the backup's checksums, refuses a database that already has tables or a media directory that is not
# empty, restores the dump in one transaction (all or nothing, objects owned by the connecting user), unpacks the
# media files, and prints what it restored. Then point the hub's DATABASE_URL and MEDIA_ROOT at them and run
# `manage.py migrate` (nothing to do with the backup's code; newer code applies its newer migrations).
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
backup=$1 target=$2 media=${3:-}

fail() {
  echo "restore.sh: $*" >&2
  exit 1
}

[ -f "$backup/database.dump" ] || fail "$backup holds no database.dump"
(cd "$backup" && sha256sum --check --quiet SHA256SUMS) || fail "$backup is damaged: its checksums do not match"

tables=$(psql --no-psqlrc --quiet --tuples-only --no-align --dbname="$target" \
  --command="SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
[ "$tables" = 0 ] || fail "the target database has $tables tables: restore into a new one (createdb)"

if [ -n "$media" ]; then
  [ -f "$backup/media.tar.gz" ] || fail "$backup holds no media files (MEDIA_STORAGE=s3 when it was made?)"
  mkdir -p "$media"
  [ -z "$(ls -A "$media")" ] || fail "$media is not empty"
fi

pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$target" "$backup/database.dump"

if [ -n "$media" ]; then
  tar -C "$media" -xzf "$backup/media.tar.gz"
fi

psql --no-psqlrc --quiet --tuples-only --no-align --dbname="$target" --field-separator=' ' --command="
  SELECT 'organizations', count(*) FROM accounts_organization
  UNION ALL SELECT 'contacts', count(*) FROM messaging_contact
  UNION ALL SELECT 'messages', count(*) FROM messaging_message
  UNION ALL SELECT 'media', count(*) FROM messaging_media
  UNION ALL SELECT 'campaigns', count(*) FROM campaigns_campaign"
if [ -n "$media" ]; then
  echo "media files $(find "$media" -type f | wc -l)"
fi
