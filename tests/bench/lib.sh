# The benchmark scripts' shared process and CPU accounting (run.sh and tls.sh source it).
# Expects PYTHON and an array STARTED of the PIDs the script started (stop_pid forgets each
# one it stopped); STOP_GRACE (default 5) is the seconds between SIGTERM and SIGKILL.

is_alive() {
  local pid="$1" stat
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]]
}

forget_pid() {
  local kept=() p
  for p in "${STARTED[@]}"; do [[ "$p" == "$1" ]] || kept+=("$p"); done
  STARTED=("${kept[@]}")
}

stop_pid() {
  local pid="$1" i
  if ! is_alive "$pid"; then
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < ${STOP_GRACE:-5} * 10; i++)); do
    is_alive "$pid" || break
    sleep 0.1
  done
  is_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

children_of() {
  local pid="$1" f stat
  if [[ -r "/proc/$pid/task/$pid/children" ]]; then
    cat "/proc/$pid/task/$pid/children"; return 0
  fi
  for f in /proc/[0-9]*/stat; do
    stat="$(cat "$f" 2>/dev/null)" || continue
    stat="${stat##*) }"
    read -r _ ppid _ <<<"$stat"
    [[ "$ppid" == "$pid" ]] && { f="${f#/proc/}"; echo "${f%/stat}"; }
  done
  return 0
}

# user+sys clock ticks of a process (all its threads): /proc/PID/stat fields 14 and 15.
cpu_ticks() {
  local stat
  stat="$(cat "/proc/$1/stat")"
  stat="${stat##*) }"
  awk '{ print $12 + $13 }' <<<"$stat"
}

# "busy total" jiffies of one CPU from /proc/stat (busy = all but idle and iowait).
cpu_jiffies() {
  awk -v cpu="cpu$1" '$1 == cpu { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

busy_percent() {
  local b0 t0 b1 t1
  read -r b0 t0 <<<"$1"
  read -r b1 t1 <<<"$2"
  awk -v b="$((b1 - b0))" -v t="$((t1 - t0))" 'BEGIN { if (t > 0) printf "%.0f", 100 * b / t; else print "-" }'
}

# Share of a CPU spent on anything but the proxy (the proxy's own ticks given).
other_percent() {
  local b0 t0 b1 t1
  read -r b0 t0 <<<"$1"
  read -r b1 t1 <<<"$2"
  awk -v b="$((b1 - b0))" -v t="$((t1 - t0))" -v own="$3" \
    'BEGIN { o = b - own; if (o < 0) o = 0; if (t > 0) printf "%.0f", 100 * o / t; else print "-" }'
}

status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

free_port() {
  "$PYTHON" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
