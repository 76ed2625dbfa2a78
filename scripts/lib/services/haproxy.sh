# shellcheck shell=bash

# Debian's HAProxy, the load balancer of scripts/cluster.sh.
ensure_haproxy() {
  ensure_command haproxy haproxy
}
