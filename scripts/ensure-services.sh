#!/usr/bin/env bash
# The scale-out suites need PostgreSQL and Redis on 127.0.0.1. Checks that both answer; starts the
# machine's own (Debian packages) when they do not. Used by .ci/run; safe to run again.
set -euo pipefail

wait_for() { # name, command
	for _ in $(seq 1 30); do
		if eval "$2" >/dev/null 2>&1; then return 0; fi
		sleep 1
	done
	echo "ensure-services: $1 did not come up" >&2
	exit 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
	echo "ensure-services: starting PostgreSQL"
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
	wait_for PostgreSQL "pg_isready -h 127.0.0.1 -p 5432 -q"
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
	echo "ensure-services: starting Redis"
	redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	wait_for Redis "redis-cli -h 127.0.0.1 -p 6379 ping"
fi
echo "ensure-services: PostgreSQL and Redis answer on 127.0.0.1"
