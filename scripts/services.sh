#!/usr/bin/env bash
# Makes sure the three servers the tests talk to are installed (Debian packages) and running, with
# RabbitMQ's Prometheus plugin on; promtool, prometheus, amtool and alertmanager for the monitoring tests.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
apt_updated=0
need() { # need <command> <package...>
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/lib/postgresql/15/bin/$1" ] && return 0
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  shift; DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
need pg_ctlcluster postgresql
need redis-server redis-server
need rabbitmq-server rabbitmq-server
need nginx nginx-light
need openssl openssl
need docker-compose docker-compose   # `config` only (tests read the merged compose files); no engine needed
need promtool prometheus             # alert rules and dashboards queries are checked against a real Prometheus
need amtool prometheus-alertmanager  # alertmanager.yml is checked, and a firing alert is delivered, by a real Alertmanager

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
if ! (echo > /dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  as_root rabbitmq-server -detached
  as_root rabbitmqctl await_startup >/dev/null
fi
# The hub lists and peeks dead-letter queues through the management HTTP API (compose runs the management image).
if ! (echo > /dev/tcp/127.0.0.1/15672) 2>/dev/null; then
  as_root rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null
  for _ in $(seq 1 30); do (echo > /dev/tcp/127.0.0.1/15672) 2>/dev/null && break; sleep 0.5; done
fi
# Port 15692: what the compose image exports, scraped by the monitoring test's Prometheus.
if ! rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_prometheus; then
  as_root rabbitmq-plugins enable rabbitmq_prometheus >/dev/null
fi
echo "services: postgres, redis, rabbitmq (management and prometheus plugins) up"
