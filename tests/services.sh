#!/usr/bin/env bash
# Makes sure the services the tests need are up: PostgreSQL on 127.0.0.1:5432 (database `test`), Redis on :6379.
set -u
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || python3 -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null; }
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
fi
if pg_up; then echo "PostgreSQL: up on 127.0.0.1:5432"; else echo "PostgreSQL: not reachable on 127.0.0.1:5432"; fi
# Redis on 127.0.0.1:6379 (tests/test_shards.py's job queue): started here if it is installed but down.
redis_up() { python3 -c "import socket; socket.create_connection(('127.0.0.1', 6379), 2)" 2>/dev/null; }
if ! redis_up && command -v redis-server >/dev/null; then
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null || true
  for _ in $(seq 1 10); do redis_up && break; sleep 1; done
fi
if redis_up; then echo "Redis: up on 127.0.0.1:6379"; else echo "Redis: not reachable on 127.0.0.1:6379"; fi
