#!/usr/bin/env bash
# Make sure the local PostgreSQL answers on 127.0.0.1:5432; exit 3 when it is not installed.
set -euo pipefail
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls -A /etc/postgresql 2>/dev/null)" ]; then
  exit 3
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
echo "Starting the local PostgreSQL $version cluster."
pg_ctlcluster --skip-systemctl-redirect "$version" main start
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
  sleep 1
done
echo "PostgreSQL did not start on 127.0.0.1:5432." >&2
exit 1
