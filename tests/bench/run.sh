#!/usr/bin/env bash
# Benchmark: cutover vs HAProxy vs NGINX, each with one worker, in front of the same nginx
# backend on 127.0.0.1. Rounds are interleaved (cutover, haproxy, nginx, cutover, ...);
# every run starts a fresh proxy. Prints a markdown report on stdout (progress on stderr).
#
#   bash deploy/setup.sh bench-deps && bash tests/bench/run.sh
#
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10s]  WARMUP [2s]  CONNS ["64 256"]  THREADS [1]
#   IDLE_CONNS [5000]        idle keep-alive connections per proxy (0 = skip that test)
#   PROXIES ["cutover haproxy nginx"]  (order of round 1; each round rotates it by one)
#   CUTOVER_BIN [build/cutover]
#   PROXY_CPU [0]  LOAD_CPU [1]   CPUs for the proxy, and for wrk + backend + idle client
#   STARTUP_TIMEOUT [5]      seconds a proxy has to answer its first request
#   KEEP_WORKDIR [0]         1 = keep configs, logs and raw results (path printed)
#
# A proxy that fails to start or to proxy is reported as failed; the others still run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
readonly HERE REPO_ROOT
readonly PYTHON=/usr/bin/python3

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONNS="${CONNS:-64 256}"
THREADS="${THREADS:-1}"
IDLE_CONNS="${IDLE_CONNS:-5000}"
PROXIES="${PROXIES:-cutover haproxy nginx}"
CUTOVER_BIN="${CUTOVER_BIN:-$REPO_ROOT/build/cutover}"
PROXY_CPU="${PROXY_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
STARTUP_TIMEOUT="${STARTUP_TIMEOUT:-5}"
KEEP_WORKDIR="${KEEP_WORKDIR:-0}"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# --- checks -----------------------------------------------------------------------------

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ "$DURATION" =~ ^[1-9][0-9]*[smh]?$ ]] || die "DURATION must look like 10s"
[[ "$WARMUP" =~ ^[0-9]+[smh]?$ ]] || die "WARMUP must look like 2s"
[[ "$IDLE_CONNS" =~ ^[0-9]+$ ]] || die "IDLE_CONNS must be an integer"
[[ "$STARTUP_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "STARTUP_TIMEOUT must be a positive integer"
for c in $CONNS; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "CONNS must be integers"; done
for p in $PROXIES; do
  case "$p" in cutover | haproxy | nginx) ;; *) die "unknown proxy in PROXIES: $p" ;; esac
done

# Seconds in a wrk duration ("10s", "2m", "1h", "10").
seconds_of() {
  local d="$1" n="${1%[smh]}"
  case "$d" in *m) echo $((n * 60)) ;; *h) echo $((n * 3600)) ;; *) echo "$n" ;; esac
}

find_tool() {
  local name="$1" dir
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  for dir in /usr/sbin /sbin /usr/local/sbin; do
    [[ -x "$dir/$name" ]] && { echo "$dir/$name"; return 0; }
  done
  return 1
}
WRK="$(find_tool wrk)" || die "wrk not found; run: bash deploy/setup.sh bench-deps"
HAPROXY="$(find_tool haproxy)" || die "haproxy not found; run: bash deploy/setup.sh bench-deps"
NGINX="$(find_tool nginx)" || die "nginx not found; run: bash deploy/setup.sh bench-deps"
TASKSET="$(find_tool taskset)" || die "taskset not found (util-linux)"
CURL="$(find_tool curl)" || die "curl not found; run: bash deploy/setup.sh bench-deps"
[[ -x "$PYTHON" ]] || die "$PYTHON not found"
readonly WRK HAPROXY NGINX TASKSET CURL

NCPU="$(nproc)"
if ((NCPU < 2)); then
  log "warning: only $NCPU CPU; proxy and load share it, figures are not comparable"
  PROXY_CPU=0 LOAD_CPU=0
fi
readonly CLK_TCK="$(getconf CLK_TCK)"

# Each side needs one descriptor per idle connection (proxies: two per proxied connection).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE="$(ulimit -n)"
[[ "$NOFILE" == unlimited ]] && NOFILE=1048576
if ((IDLE_CONNS + 1024 > NOFILE)); then
  log "warning: open-file limit $NOFILE; IDLE_CONNS lowered from $IDLE_CONNS to $((NOFILE - 1024))"
  IDLE_CONNS=$((NOFILE - 1024))
fi
# Connection caps for the peers: enough for the idle test and the load, within the limit.
MAXCONN=$((IDLE_CONNS + 2048))
((2 * MAXCONN + 256 > NOFILE)) && MAXCONN=$(((NOFILE - 256) / 2))
# Idle upstream connections a proxy may keep per backend: as many as the largest load
# level, so that no proxy has to reconnect to the backend under load (cutover, NGINX;
# HAProxy keeps them all anyway).
UPSTREAM_POOL=64
for c in $CONNS; do ((c > UPSTREAM_POOL)) && UPSTREAM_POOL=$c; done
readonly NOFILE MAXCONN UPSTREAM_POOL

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cutover-bench.XXXXXX")"
readonly WORK RESULTS="$WORK/load.tsv" IDLE_RESULTS="$WORK/idle.tsv" NOTES="$WORK/notes.txt"
: >"$RESULTS"; : >"$IDLE_RESULTS"; : >"$NOTES"

# --- processes --------------------------------------------------------------------------

STARTED=()  # every process this script started, stopped by PID on exit

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
  STARTED=()
  if [[ "$KEEP_WORKDIR" == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# True once http://127.0.0.1:PORT/ answers 200 "ok"; false after STARTUP_TIMEOUT or if
# PID dies first.
wait_http_ok() {
  local port="$1" pid="$2" deadline=$((SECONDS + STARTUP_TIMEOUT)) body
  while ((SECONDS <= deadline)); do
    is_alive "$pid" || return 1
    body="$("$CURL" -s -m 1 "http://127.0.0.1:$port/" 2>/dev/null)" && [[ "$body" == ok ]] && return 0
    sleep 0.1
  done
  return 1
}

# --- backend ----------------------------------------------------------------------------

start_backend() {
  local dir="$WORK/backend"
  mkdir -p "$dir/logs" "$dir/tmp"
  BACKEND_PORT="$(free_port)"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
worker_rlimit_nofile $NOFILE;
events { worker_connections $MAXCONN; }
http {
  access_log off;
  default_type text/plain;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  server {
    listen 127.0.0.1:$BACKEND_PORT backlog=4096;
    location / { return 200 "ok\n"; }
  }
}
EOF
  "$TASKSET" -c "$LOAD_CPU" "$NGINX" -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" \
    >"$dir/logs/stdout.log" 2>&1 &
  BACKEND_PID=$!
  STARTED+=("$BACKEND_PID")
  wait_http_ok "$BACKEND_PORT" "$BACKEND_PID" \
    || die "backend nginx did not start: $(tail -5 "$dir/logs/error.log" 2>/dev/null)"
  log "backend nginx on 127.0.0.1:$BACKEND_PORT (pid $BACKEND_PID, CPU $LOAD_CPU)"
}

# --- proxies ----------------------------------------------------------------------------
# start_proxy NAME DIR: on success sets PROXY_PORT, PROXY_PID (process to stop) and
# MEASURE_PID (process doing the work: the nginx worker, else the proxy itself).

write_cutover_config() {
  local dir="$1"
  cat >"$dir/cutover.toml" <<EOF
[listener]
address = "127.0.0.1:$PROXY_PORT"
workers = 1

[pools.blue]
endpoints = ["127.0.0.1:$BACKEND_PORT"]

[pools.green]
endpoints = ["127.0.0.1:$BACKEND_PORT"]

[routing]
weights = { blue = 90, green = 10 }

[timeouts]
idle = "300s"
upstream_idle = "300s"

[limits]
upstream_idle_per_endpoint = $UPSTREAM_POOL

[log]
access = false
EOF
  echo "$dir/cutover.toml"
}

write_haproxy_config() {
  local dir="$1"
  # No "log" lines: HAProxy logs nothing. http-reuse always shares idle server
  # connections between client connections, like NGINX's upstream keepalive pool.
  cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn $MAXCONN

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-request 10s
  timeout http-keep-alive 300s

frontend fe
  bind 127.0.0.1:$PROXY_PORT
  maxconn $MAXCONN
  default_backend be

backend be
  server backend 127.0.0.1:$BACKEND_PORT
EOF
  echo "$dir/haproxy.cfg"
}

write_nginx_config() {
  local dir="$1"
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile $NOFILE;
events { worker_connections $((2 * MAXCONN)); }
http {
  access_log off;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  upstream be {
    server 127.0.0.1:$BACKEND_PORT;
    keepalive $UPSTREAM_POOL;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$PROXY_PORT backlog=4096;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  echo "$dir/nginx.conf"
}

start_proxy() {
  local name="$1" dir="$2" cfg
  mkdir -p "$dir"
  PROXY_PORT="$(free_port)"
  case "$name" in
    cutover)
      if [[ ! -x "$CUTOVER_BIN" ]]; then
        echo "cutover binary $CUTOVER_BIN not found" >"$dir/failure"
        return 1
      fi
      cfg="$(write_cutover_config "$dir")"
      if ! "$CUTOVER_BIN" check --config "$cfg" >"$dir/check.log" 2>&1; then
        echo "cutover check --config rejected the bench config: $(tail -3 "$dir/check.log" | tr '\n' ' ')" >"$dir/failure"
        return 1
      fi
      "$TASKSET" -c "$PROXY_CPU" "$CUTOVER_BIN" run --config "$cfg" >"$dir/proxy.log" 2>&1 &
      ;;
    haproxy)
      cfg="$(write_haproxy_config "$dir")"
      "$TASKSET" -c "$PROXY_CPU" "$HAPROXY" -db -f "$cfg" >"$dir/proxy.log" 2>&1 &
      ;;
    nginx)
      cfg="$(write_nginx_config "$dir")"
      "$TASKSET" -c "$PROXY_CPU" "$NGINX" -p "$dir" -e "$dir/error.log" -c "$cfg" \
        >"$dir/proxy.log" 2>&1 &
      ;;
  esac
  PROXY_PID=$!
  STARTED+=("$PROXY_PID")
  MEASURE_PID="$PROXY_PID"
  if ! wait_http_ok "$PROXY_PORT" "$PROXY_PID"; then
    local why="did not answer 200 \"ok\" through http://127.0.0.1:$PROXY_PORT/ within ${STARTUP_TIMEOUT}s"
    if ! is_alive "$PROXY_PID"; then
      local code=0
      wait "$PROXY_PID" 2>/dev/null || code=$?
      why="exited (status $code) before answering"
    fi
    echo "$name $why; log: $(tail -3 "$dir/proxy.log" "$dir/error.log" 2>/dev/null | tr '\n' ' ')" \
      >"$dir/failure"
    stop_pid "$PROXY_PID"
    return 1
  fi
  if [[ "$name" == nginx ]]; then
    local i child=""
    for ((i = 0; i < 50; i++)); do
      child="$(children_of "$PROXY_PID" | awk 'NR == 1 { print $1 }')"
      [[ -n "$child" ]] && break
      sleep 0.1
    done
    [[ -n "$child" ]] || { echo "nginx worker not found" >"$dir/failure"; stop_pid "$PROXY_PID"; return 1; }
    MEASURE_PID="$child"
  fi
  return 0
}

# A proxy that failed once is not started again; its later runs are reported as skipped.
declare -A BROKEN=()

note_failure() {
  local name="$1" dir="$2" what
  what="$(cat "$dir/failure" 2>/dev/null || echo "$name failed")"
  log "FAILED: $what"
  if [[ -z "${BROKEN[$name]:-}" ]]; then
    printf -- '- %s\n' "$what" >>"$NOTES"
    BROKEN[$name]=1
  fi
}

# --- load runs --------------------------------------------------------------------------

# Prints the BENCH line fields of a wrk output file as "requests duration_us p50 p99 errors".
parse_wrk() {
  awk '/^BENCH / {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["requests"], v["duration_us"], v["p50_us"], v["p99_us"],
          v["err_connect"] + v["err_read"] + v["err_write"] + v["err_status"] + v["err_timeout"]
  }' "$1"
}

# run_wrk CONNS DURATION URL OUTFILE [--latency]
run_wrk() {
  local conns="$1" dur="$2" url="$3" out="$4"; shift 4
  local limit=$(($(seconds_of "$dur") + 30))
  timeout -k 5 "$limit" "$TASKSET" -c "$LOAD_CPU" "$WRK" -t "$THREADS" -c "$conns" -d "$dur" \
    "$@" -s "$HERE/report.lua" "$url" >"$out" 2>&1
}

# Columns of load.tsv: proxy conns round status rps p50_us p99_us cpu_s req_per_cpu_s hwm_kib
# errors proxy_cpu_busy_pct load_cpu_busy_pct other_on_proxy_cpu_pct
record_load() { (IFS=$'\t'; echo "$*") >>"$RESULTS"; }

run_load() {
  local name="$1" conns="$2" round="$3"
  local dir="$WORK/load-$name-c$conns-r$round"
  if [[ -n "${BROKEN[$name]:-}" ]]; then
    record_load "$name" "$conns" "$round" skipped - - - - - - - - - -
    return 0
  fi
  log "round $round: $name, $conns connections"
  if ! start_proxy "$name" "$dir"; then
    note_failure "$name" "$dir"
    record_load "$name" "$conns" "$round" failed - - - - - - - - - -
    return 0
  fi
  local url="http://127.0.0.1:$PROXY_PORT/"
  if [[ "$(seconds_of "$WARMUP")" -gt 0 ]]; then
    run_wrk "$conns" "$WARMUP" "$url" "$dir/warmup.txt" || true
  fi
  local t0 t1 rc=0 load0 load1 pcpu0 pcpu1
  load0="$(cpu_jiffies "$LOAD_CPU")"
  pcpu0="$(cpu_jiffies "$PROXY_CPU")"
  t0="$(cpu_ticks "$MEASURE_PID" 2>/dev/null || echo -)"
  run_wrk "$conns" "$DURATION" "$url" "$dir/wrk.txt" --latency || rc=$?
  t1="$(cpu_ticks "$MEASURE_PID" 2>/dev/null || echo -)"
  load1="$(cpu_jiffies "$LOAD_CPU")"
  pcpu1="$(cpu_jiffies "$PROXY_CPU")"
  local hwm alive=1
  hwm="$(status_kib "$MEASURE_PID" VmHWM 2>/dev/null || echo -)"
  is_alive "$MEASURE_PID" || alive=0
  stop_pid "$PROXY_PID"

  local requests dur_us p50 p99 errors
  read -r requests dur_us p50 p99 errors <<<"$(parse_wrk "$dir/wrk.txt")" || true
  if ((alive == 0)) || [[ -z "${requests:-}" || "$t1" == - || "$t0" == - ]] || ((rc != 0)); then
    echo "$name crashed or wrk failed during the $conns-connection run (wrk exit $rc)" >"$dir/failure"
    note_failure "$name" "$dir"
    record_load "$name" "$conns" "$round" failed - - - - - - - - - -
    return 0
  fi
  local status=ok
  ((errors > 0)) && status=errors
  ((requests == 0)) && status=failed
  local cpu_s rps per_cpu
  cpu_s="$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')"
  rps="$(awk -v n="$requests" -v d="$dur_us" 'BEGIN { printf "%.0f", n / (d / 1e6) }')"
  per_cpu="$(awk -v n="$requests" -v c="$cpu_s" 'BEGIN { if (c > 0) printf "%.0f", n / c; else print "-" }')"
  local load_busy proxy_busy other
  load_busy="$(busy_percent "$load0" "$load1")"
  proxy_busy="$(busy_percent "$pcpu0" "$pcpu1")"
  other="$(other_percent "$pcpu0" "$pcpu1" "$((t1 - t0))")"
  record_load "$name" "$conns" "$round" "$status" "$rps" "$p50" "$p99" "$cpu_s" "$per_cpu" "$hwm" \
    "$errors" "$proxy_busy" "$load_busy" "$other"
  log "  $rps req/s, p50 ${p50}us, p99 ${p99}us, CPU ${cpu_s}s, $per_cpu req/CPU-s," \
    "HWM ${hwm} KiB, errors $errors; CPU $PROXY_CPU ${proxy_busy}% busy, CPU $LOAD_CPU ${load_busy}% busy;" \
    "other work on CPU $PROXY_CPU ${other}%"
}

# --- idle connections -------------------------------------------------------------------

# Columns of idle.tsv: proxy round status open rss_before_kib rss_after_kib bytes_per_conn
record_idle() { (IFS=$'\t'; echo "$*") >>"$IDLE_RESULTS"; }

run_idle() {
  local name="$1" round="$2"
  local dir="$WORK/idle-$name-r$round"
  if [[ -n "${BROKEN[$name]:-}" ]]; then
    record_idle "$name" "$round" skipped - - - -
    return 0
  fi
  log "round $round: $name, $IDLE_CONNS idle keep-alive connections"
  if ! start_proxy "$name" "$dir"; then
    note_failure "$name" "$dir"
    record_idle "$name" "$round" failed - - - -
    return 0
  fi
  local before after
  before="$(status_kib "$MEASURE_PID" VmRSS)"
  "$TASKSET" -c "$LOAD_CPU" "$PYTHON" "$HERE/idle_conns.py" --port "$PROXY_PORT" \
    --count "$IDLE_CONNS" --hold 300 >"$dir/idle.txt" 2>&1 &
  local helper=$!
  STARTED+=("$helper")
  # Bounded: ~5000 sequential local round trips take a few seconds; allow a minute plus
  # one connect timeout per failure.
  local deadline=$((SECONDS + 60 + IDLE_CONNS / 100)) held=""
  while ((SECONDS <= deadline)); do
    held="$(grep '^held ' "$dir/idle.txt" || true)"
    [[ -n "$held" ]] && break
    is_alive "$helper" || break
    sleep 0.2
  done
  after="$(status_kib "$MEASURE_PID" VmRSS 2>/dev/null || echo -)"
  stop_pid "$helper"
  stop_pid "$PROXY_PID"
  local ready open closed ok_count
  ready="$(grep '^ready ' "$dir/idle.txt" || true)"
  ok_count="$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' <<<"$ready")"
  open="$(sed -n 's/.*open=\([0-9]*\).*/\1/p' <<<"$held")"
  closed="$(sed -n 's/.*closed=\([0-9]*\).*/\1/p' <<<"$held")"
  if [[ -z "$held" || -z "$open" || "$after" == - ]]; then
    echo "$name idle test did not complete: $(tail -2 "$dir/idle.txt" | tr '\n' ' ')" >"$dir/failure"
    note_failure "$name" "$dir"
    record_idle "$name" "$round" failed - "$before" - -
    return 0
  fi
  local status=ok
  ((open < IDLE_CONNS)) && status="partial ($ok_count answered, $closed closed)"
  local per_conn="-"
  ((open > 0)) && per_conn=$(((after - before) * 1024 / open))
  record_idle "$name" "$round" "$status" "$open" "$before" "$after" "$per_conn"
  log "  $open open, RSS $before -> $after KiB, $per_conn B per connection"
}

# --- report -----------------------------------------------------------------------------

# Busy percentages of the proxy and load CPUs over one second before anything starts: a
# benchmark on a machine that is doing other work measures that work too.
sample_background() {
  local p0 l0 p1 l1
  p0="$(cpu_jiffies "$PROXY_CPU")"; l0="$(cpu_jiffies "$LOAD_CPU")"
  sleep 1
  p1="$(cpu_jiffies "$PROXY_CPU")"; l1="$(cpu_jiffies "$LOAD_CPU")"
  echo "$(busy_percent "$p0" "$p1") $(busy_percent "$l0" "$l1")"
}

write_meta() {
  local cutover_version background
  background="$(sample_background)"
  cutover_version="$("$CUTOVER_BIN" version 2>/dev/null | head -1 || true)"
  {
    echo "date=$(date -u +%Y-%m-%d)"
    echo "cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "ncpu=$NCPU"
    echo "kernel=$(uname -r)"
    echo "cutover=${cutover_version:-unknown}"
    echo "tree=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "haproxy=$("$HAPROXY" -v | awk 'NR == 1 { print $3 }')"
    echo "nginx=$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')"
    echo "wrk=$("$WRK" -v 2>&1 | awk 'NR == 1 { print $2 }')"
    echo "rounds=$ROUNDS"
    echo "duration=$DURATION"
    echo "warmup=$WARMUP"
    echo "threads=$THREADS"
    echo "conns=$CONNS"
    echo "idle_conns=$IDLE_CONNS"
    echo "proxies=$PROXIES"
    echo "proxy_cpu=$PROXY_CPU"
    echo "load_cpu=$LOAD_CPU"
    echo "background_busy=$background"
  } >"$WORK/meta.env"
}

main() {
  [[ " $PROXIES " == *" cutover "* && ! -x "$CUTOVER_BIN" ]] \
    && log "warning: $CUTOVER_BIN not found; cutover will be reported as failed"
  log "work dir $WORK; $ROUNDS rounds x {$CONNS} connections x {$PROXIES}, $DURATION each"
  write_meta
  start_backend
  local round conns name order
  local -a proxies
  read -r -a proxies <<<"$PROXIES"
  for ((round = 1; round <= ROUNDS; round++)); do
    # Rotate which proxy goes first: the first run after the idle test or a round change
    # measures noticeably lower on this kind of VM, and that must not always hit one proxy.
    order="${proxies[*]:$(((round - 1) % ${#proxies[@]}))} ${proxies[*]:0:$(((round - 1) % ${#proxies[@]}))}"
    for conns in $CONNS; do
      for name in $order; do run_load "$name" "$conns" "$round"; done
    done
    if ((IDLE_CONNS > 0)); then
      for name in $PROXIES; do run_idle "$name" "$round"; done
    fi
  done
  "$PYTHON" "$HERE/report.py" --meta "$WORK/meta.env" --load "$RESULTS" \
    --idle "$IDLE_RESULTS" --notes "$NOTES"
}

main "$@"; exit $?
