# shellcheck shell=bash
# Processes: waiting for one to come up, starting one detached, stopping one by
# its pidfile.

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || die "$what did not come up within ${seconds}s"
    sleep 0.5
  done
}

# die_with_log LOG MESSAGE [LINES]: the last LINES (30) of LOG on stderr, then die.
die_with_log() {
  tail -n "${3:-30}" "$1" >&2
  die "$2"
}

# detach LOG PIDFILE COMMAND...: runs COMMAND under setsid, so it outlives the
# script and holds neither its terminal nor its pipes; its output is appended
# to LOG, its pid written to PIDFILE.
detach() {
  local logfile=$1 pidfile=$2; shift 2
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# start_detached DIR NAME COMMAND...: detach, with DIR/NAME.log and DIR/NAME.pid.
start_detached() {
  local dir=$1 name=$2; shift 2
  log "starting $name (log: $dir/$name.log)"
  detach "$dir/$name.log" "$dir/$name.pid" "$@"
}

# pid_alive FILE: FILE names a running process (a zombie, dead but not yet reaped, is not).
pid_alive() {
  local state
  [[ -f "$1" ]] && state="$(ps -o stat= -p "$(cat "$1")" 2>/dev/null)" && [[ -n "$state" && "$state" != Z* ]]
}

# stop_by_pidfile FILE [SECONDS] [SIGNAL]: SIGTERM the process FILE names, and
# after SECONDS (default 40) send it SIGNAL (default KILL; none sends nothing
# and leaves it to finish), then remove FILE.
stop_by_pidfile() {
  local file=$1 seconds=${2:-40} last=${3:-KILL} pid
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + seconds))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.5; done
    [[ "$last" == none ]] || kill "-$last" "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# stop_logged FILE [SECONDS] [SIGNAL]: stop_by_pidfile, saying so when the
# process runs (as "stopping NAME (PID)", NAME the file's name less .pid).
stop_logged() {
  if pid_alive "$1"; then log "stopping $(basename "$1" .pid) ($(cat "$1"))"; fi
  stop_by_pidfile "$@"
}

# hold_lock FILE: an exclusive lock on FILE for the rest of the script, once
# whoever holds it lets go (parallel runs of one script take turns).
hold_lock() {
  local fd
  exec {fd}>"$1"
  flock "$fd"
}

# load_env FILE: the NAME=value lines of FILE (one a script wrote: .run/s3.env,
# registry.env), set and exported.
load_env() {
  set -a
  # shellcheck disable=SC1090 # written at run time, there is nothing to follow
  source "$1"
  set +a
}

# stop_children PID...: SIGTERM each, then wait for them all (a script's EXIT
# trap, for the processes it started in the background).
stop_children() {
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  wait "$@" 2>/dev/null || true
}
