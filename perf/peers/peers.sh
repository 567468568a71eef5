#!/usr/bin/env bash
# perf/peers/peers.sh install|start|stop [nchan|pushpin|all] — the peers `bin/csr bench` compares us with, installed
# (apt, idempotent) and run on loopback with their own config, state and ports under $PEERS_DIR, never the system's
# /etc configs or service units. Ports (override by env): nchan 18090, Pushpin 18100 (publish 18101, internal 18102-18104).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_DIR="${PEERS_DIR:-$HERE/../../.csr/peers}"
NCHAN_PORT="${NCHAN_PORT:-18090}"
PUSHPIN_PORT="${PUSHPIN_PORT:-18100}"
PUSHPIN_PUBLISH_PORT="${PUSHPIN_PUBLISH_PORT:-18101}"
PUSHPIN_ORIGIN_PORT="${PUSHPIN_ORIGIN_PORT:-18109}"   # the benchmark client's GRIP origin (io.csr.perf.sse.GripOrigin)

die() { printf 'error [peers %s]: %s\n' "$1" "$2" >&2; exit 1; }
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { local i; for i in $(seq 1 100); do answers "$1" && return 0; sleep 0.1; done; return 1; }

install_peers() {
  local missing=()
  [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  [[ -f /usr/share/nginx/modules/ngx_nchan_module.so ]] || missing+=(libnginx-mod-nchan)
  command -v pushpin >/dev/null || missing+=(pushpin)
  ((${#missing[@]} == 0)) && return 0
  echo "    installing ${missing[*]} (apt)"
  # policy-rc.d 101 keeps apt from starting the packages' own system services on ports 80/7999
  local policy=/usr/sbin/policy-rc.d created=
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >$policy; chmod +x $policy; created=1; fi
  (apt-get install -y -q "${missing[@]}" >"$PEERS_DIR/apt.log" 2>&1 || { apt-get update -q >>"$PEERS_DIR/apt.log" 2>&1 \
      && apt-get install -y -q "${missing[@]}" >>"$PEERS_DIR/apt.log" 2>&1; }) \
    || { [[ -n $created ]] && rm -f $policy; die install "apt-get install ${missing[*]} failed (log $PEERS_DIR/apt.log); run it by hand as root"; }
  [[ -n $created ]] && rm -f $policy
  return 0
}

render() { # render TEMPLATE OUT KEY=VALUE...
  local t; t=$(cat "$1"); local out="$2"; shift 2
  local kv; for kv in "$@"; do t="${t//@${kv%%=*}@/${kv#*=}}"; done
  printf '%s\n' "$t" >"$out"
}

start_nchan() {
  local d="$PEERS_DIR/nchan"; mkdir -p "$d"
  if [[ -f "$d/nginx.pid" ]] && kill -0 "$(cat "$d/nginx.pid")" 2>/dev/null; then echo "    nchan      runs (127.0.0.1:$NCHAN_PORT)"; return; fi
  answers "$NCHAN_PORT" && die start "port $NCHAN_PORT is taken by another process; set NCHAN_PORT to a free port"
  render "$HERE/nginx-nchan.conf.template" "$d/nginx.conf" STATE="$d" PORT="$NCHAN_PORT"
  ulimit -n 65536 2>/dev/null || true
  /usr/sbin/nginx -c "$d/nginx.conf" -p "$d" -g 'daemon on; user root;' 2>"$d/start.err" \
    || die start "nginx+nchan did not start: $(cat "$d/start.err")"
  wait_port "$NCHAN_PORT" || die start "nginx+nchan does not answer on 127.0.0.1:$NCHAN_PORT (log $d/nginx-error.log)"
  echo "    nchan      started (127.0.0.1:$NCHAN_PORT, pid $(cat "$d/nginx.pid"))"
}

stop_nchan() {
  local d="$PEERS_DIR/nchan"
  [[ -f "$d/nginx.pid" ]] && kill -0 "$(cat "$d/nginx.pid")" 2>/dev/null || return 0
  /usr/sbin/nginx -c "$d/nginx.conf" -p "$d" -g 'user root;' -s quit 2>/dev/null || kill "$(cat "$d/nginx.pid")"
  local i; for i in $(seq 1 50); do answers "$NCHAN_PORT" || break; sleep 0.1; done
  echo "    nchan      stopped"
}

start_pushpin() {
  local d="$PEERS_DIR/pushpin"; mkdir -p "$d/run" "$d/log"
  if [[ -f "$d/pushpin.pid" ]] && kill -0 "$(cat "$d/pushpin.pid")" 2>/dev/null; then echo "    pushpin    runs (127.0.0.1:$PUSHPIN_PORT)"; return; fi
  answers "$PUSHPIN_PORT" && die start "port $PUSHPIN_PORT is taken by another process; set PUSHPIN_PORT to a free port"
  render "$HERE/pushpin.conf.template" "$d/pushpin.conf" STATE="$d" PORT="$PUSHPIN_PORT" PORT_OFFSET=0 \
    PUBLISH_PORT="$PUSHPIN_PUBLISH_PORT" PUSH_IN=$((PUSHPIN_PORT + 2)) PUSH_SUB=$((PUSHPIN_PORT + 3)) COMMAND=$((PUSHPIN_PORT + 4))
  echo "* 127.0.0.1:$PUSHPIN_ORIGIN_PORT" >"$d/routes"
  ulimit -n 65536 2>/dev/null || true
  setsid pushpin --config "$d/pushpin.conf" </dev/null >"$d/log/runner.log" 2>&1 &
  echo $! >"$d/pushpin.pid"
  wait_port "$PUSHPIN_PORT" && wait_port "$PUSHPIN_PUBLISH_PORT" \
    || { tail -20 "$d/log/runner.log" >&2; die start "pushpin does not answer on 127.0.0.1:$PUSHPIN_PORT/$PUSHPIN_PUBLISH_PORT (logs $d/log)"; }
  echo "    pushpin    started (127.0.0.1:$PUSHPIN_PORT, publish :$PUSHPIN_PUBLISH_PORT, pid $(cat "$d/pushpin.pid"))"
}

stop_pushpin() {
  local d="$PEERS_DIR/pushpin"
  [[ -f "$d/pushpin.pid" ]] && kill -0 "$(cat "$d/pushpin.pid")" 2>/dev/null || return 0
  local pid; pid=$(cat "$d/pushpin.pid")
  kill -TERM -- "-$pid" 2>/dev/null || kill "$pid"   # its own session: the runner and the services it started
  local i; for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
  echo "    pushpin    stopped"
}

descendants() { # descendants PID — the process and everything under it, one per line (children of children too)
  echo "$1"
  local c; for c in $(pgrep -P "$1"); do descendants "$c"; done
}

pids() { # pids nchan|pushpin — every process of that peer (for RSS and CPU accounting), comma-separated
  case "$1" in
    nchan) descendants "$(cat "$PEERS_DIR/nchan/nginx.pid")" | paste -sd, - ;;
    pushpin) descendants "$(cat "$PEERS_DIR/pushpin/pushpin.pid")" | paste -sd, - ;;
  esac
}

mkdir -p "$PEERS_DIR"; PEERS_DIR="$(cd "$PEERS_DIR" && pwd)"
what="${2:-all}"
case "${1:-}" in
  install) install_peers ;;
  start) install_peers; [[ $what == pushpin ]] || start_nchan; [[ $what == nchan ]] || start_pushpin ;;
  stop) [[ $what == pushpin ]] || stop_nchan; [[ $what == nchan ]] || stop_pushpin ;;
  pids) pids "$what" ;;
  *) die usage "perf/peers/peers.sh install|start|stop|pids [nchan|pushpin|all]" ;;
esac
