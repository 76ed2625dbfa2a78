# shellcheck shell=bash
# Network helpers: ports, HTTP, bridges.

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# port_listening PORT: a socket listens on PORT. A listener, not a connect: on
# some networks any connect to a local address succeeds.
port_listening() { ss -Hltn "sport = :$1" | grep -q .; }

# free_port: a port of 127.0.0.1 that nothing listens on (the OS's choice).
free_port() { node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }

# http_ok URL: a GET of URL answers 2xx (or 3xx).
http_ok() { curl -fsS -o /dev/null "$1"; }

# ensure_private_bridge NAME: a Linux bridge for a second Docker daemon on this
# host, with an address of its own (10.213.N.1/24, N from NAME). A daemon
# started with --bridge=none deletes the host's docker0 (moby removes the
# default bridge interface then), cutting the host daemon's bridge off; one
# given a bridge of its own leaves docker0 alone. Engines use no network.
ensure_private_bridge() {
  local name=$1 n
  ip link show "$name" >/dev/null 2>&1 && return 0
  n=$(($(printf '%s' "$name" | cksum | cut -d' ' -f1) % 200 + 20))
  ip link add "$name" type bridge
  ip addr add "10.213.$n.1/24" dev "$name"
  ip link set "$name" up
}
remove_private_bridge() { ip link del "$1" 2>/dev/null || true; }
