#!/usr/bin/env bash
# Serve Keyport with its background worker; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
ADDR=${KEYPORT_ADDR:-127.0.0.1:8000}
# Links in emails (written by the worker, off any request) point at this server.
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://$ADDR}

cat <<TEXT

  Keyport is starting at http://$ADDR

  Staff dashboard   http://$ADDR/dashboard/
                    owner@demo.keyport.test   password: keyport-demo
  Customer portal   http://$ADDR/login/
                    tenant@demo.keyport.test  (tenant with a current booking of two units)
                    partner@demo.keyport.test (the tenant's additional contact)
                    guest@demo.keyport.test   (ticket-only guest)
                    Sign-in links arrive as files in var/mail/

  Press Ctrl-C to stop.

TEXT

# The worker gets its own process group, so that Ctrl-C reaches it only once, as
# the TERM sent by stop(): a second signal would abort the task it is running.
# A worker that still ends is started again, as a service manager would.
set -m
(
  while true; do
    "$PY" manage.py run_worker --no-reload --verbosity 1 || true
    echo "The task worker stopped; starting it again in 2 s." >&2
    sleep 2
  done
) &
worker=$!
set +m

# In the background so that `wait` below returns at once on INT or TERM. It keeps
# the terminal as stdin, so breakpoint() in a view still works.
"$PY" manage.py runserver "$ADDR" <&0 &
server=$!

stop() {
  trap - EXIT INT TERM
  kill -TERM -- "$server" "-$worker" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM
wait "$server"
