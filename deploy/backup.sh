#!/usr/bin/env bash
# Back up WhatsApp Hub: the PostgreSQL database (pg_dump, custom format) and the stored media files, into
# BACKUP_DIR/whatsapp-hub-<UTC time>/ (database.dump, media.tar.gz, MANIFEST, SHA256SUMS), then delete the
# backups older than BACKUP_KEEP_DAYS. Prints the new backup's path. deploy/restore.sh brings one back.
#
# Reads the hub's environment (DATABASE_URL, MEDIA_STORAGE, MEDIA_ROOT; e.g. `set -a; . /etc/whatsapp-hub/env`)
# and BACKUP_DIR (/var/backups/whatsapp-hub), BACKUP_KEEP_DAYS (14). Daily: deploy/systemd/whatsapp-hub-backup.timer.
# pg_dump must be of the server's major version or newer. Copy the backups off the machine as well.
#
# The database is dumped first, from one snapshot (the hub keeps serving); the media files after it. Files are
# never changed once written, so the archive holds every file a dumped row names, except one deleted in between
# (its row was deleted too, later than the dump). With MEDIA_STORAGE=s3 the files stay in the bucket: keep them
# with its versioning or replication.
set -euo pipefail
umask 077

: "${DATABASE_URL:?DATABASE_URL is not set: source the environment of the hub, e.g. /etc/whatsapp-hub/env}"
app_dir=$(cd "$(dirname "$0")/.." && pwd)
backup_dir=${BACKUP_DIR:-/var/backups/whatsapp-hub}
keep_days=${BACKUP_KEEP_DAYS:-14}
media_storage=${MEDIA_STORAGE:-local}
media_root=${MEDIA_ROOT:-$app_dir/media}

mkdir -p "$backup_dir"
exec 9>"$backup_dir/.lock"
if ! flock -n 9; then
  echo "backup.sh: another backup is running ($backup_dir/.lock)" >&2
  exit 1
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="whatsapp-hub-$stamp"
work="$backup_dir/.$name.partial"
rm -rf "$work"
mkdir "$work"
trap 'rm -rf "$work"' EXIT

pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$work/database.dump" --dbname="$DATABASE_URL"

if [ "$media_storage" = local ]; then
  if [ -d "$media_root" ]; then
    tar -C "$media_root" -czf "$work/media.tar.gz" .
  else
    tar -czf "$work/media.tar.gz" --files-from=/dev/null
  fi
fi

{
  echo "created=$stamp"
  echo "media_storage=$media_storage"
  echo "pg_dump=$(pg_dump --version)"
  echo "code=$(git -C "$app_dir" rev-parse HEAD 2>/dev/null || echo unknown)"
} >"$work/MANIFEST"
(cd "$work" && sha256sum -- * >SHA256SUMS)

mv "$work" "$backup_dir/$name"
trap - EXIT

# Retention: only after a backup succeeded, so a failing backup never leaves none.
find "$backup_dir" -mindepth 1 -maxdepth 1 -type d -name 'whatsapp-hub-*' -mtime "+$keep_days" -exec rm -rf {} +

echo "$backup_dir/$name"
