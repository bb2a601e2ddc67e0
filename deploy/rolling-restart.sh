#!/usr/bin/env bash
# Restart this machine's WhatsApp Hub processes one at a time onto the release /srv/whatsapp-hub/app now points at
# (README "Upgrading without downtime"), as root. Each gunicorn and daphne is back on its port before the next one
# stops: nginx sends new requests to the others meanwhile (a refused connection is tried on the next server), and
# the sockets of a restarted daphne reconnect to another and catch up. Workers stop warmly (running tasks finish;
# nothing is lost either way), beat last.
set -euo pipefail

wait_for_port() {
  for _ in $(seq 1 60); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  echo "rolling-restart.sh: nothing answers on port $1 after 60 s: stopping here (journalctl -u $2)" >&2
  return 1
}

active() {
  systemctl list-units --plain --no-legend --state=active "$1" | awk '{print $1}'
}

for unit in $(active 'whatsapp-hub-gunicorn@*.service') $(active 'whatsapp-hub-daphne@*.service'); do
  port=${unit#*@}
  port=${port%.service}
  echo "restarting $unit"
  systemctl restart "$unit"
  wait_for_port "$port" "$unit"
done
for unit in $(active 'whatsapp-hub-worker@*.service') $(active 'whatsapp-hub-beat.service'); do
  echo "restarting $unit"
  systemctl restart "$unit"
done
