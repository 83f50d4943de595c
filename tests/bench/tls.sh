#!/usr/bin/env bash
# Benchmark: TLS termination, cutover vs HAProxy (optionally NGINX), each with one worker, in
# front of the same plain-HTTP nginx backend on 127.0.0.1, in one run. Three loads per
# certificate type:
#   keepalive  requests/s on keep-alive TLS connections (wrk -c CONNS, https URL);
#   full       full handshakes/s: HS_CLIENTS concurrent `openssl s_time -new` clients, each
#              connecting, doing a full handshake (no session offered), one GET, close;
#   resumed    resumed handshakes/s: the same with `s_time -reuse` (every connection after a
#              client's first resumes that client's session).
# wrk is not used for handshakes: with "Connection: close" it reconnects, but it keeps the
# SSL object across connections (SSL_clear) and so offers the last session ticket every time,
# i.e. it measures resumptions, not full handshakes. s_time marks every connection with '*'
# (new session) or 'r' (resumed); the script counts both, so the report shows that the
# "full" runs resumed nothing and the "resumed" runs resumed everything after the first.
#
# Certificates (ECDSA P-256 and RSA-2048, self-signed) are made with the openssl CLI in the
# work dir. Rounds are interleaved and every run starts a fresh proxy. Markdown report on
# stdout, progress on stderr.
#
#   bash deploy/setup.sh bench-deps && bash tests/bench/tls.sh > /tmp/tls-bench.md
#
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10s]  WARMUP [2s]   per run; WARMUP is an unmeasured run of the
#                                             same load (wrk or s_time) before each
#   CONNS [64]           wrk -c for the keep-alive load
#   HS_CLIENTS [16]      concurrent s_time clients for the handshake loads
#   KEYS ["ecdsa rsa"]   certificate types, each a set of rows: ecdsa = P-256, rsa = 2048 bits
#   TESTS ["keepalive full resumed"]
#   PROXIES ["cutover haproxy"]   (nginx also possible; order of round 1, rotated each round)
#   CUTOVER_BIN [build/cutover]
#   PROXY_CPU [0]  LOAD_CPU [1]   CPU for the proxy; CPU for the clients and the backend
#   STARTUP_TIMEOUT [5]  KEEP_WORKDIR [0]
#   TIMED [1]            0 = skip the timed rounds above
#   INSTRUCTIONS [0]     1 = also count instructions per operation under callgrind (cutover
#                        and HAProxy only): for each certificate and load, each proxy runs
#                        under `valgrind --tool=callgrind` twice, with the same load for
#                        INSTR_SECONDS ["5 15"] seconds (keep-alive: INSTR_CONNS [8]
#                        connections); (Ir2 - Ir1) / (ops2 - ops1) is the cost
#                        of one request or handshake (start-up, warm-up connections and
#                        shutdown cancel out). Independent of CPU speed and of other work on
#                        the machine, so it still compares the two on a busy machine.
#   INSTR_TIMEOUT [120]  seconds a proxy under callgrind has to start, and to exit
#
# Loopback only; every wait is bounded; every process started here is stopped by its PID.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
readonly HERE REPO_ROOT
readonly PYTHON=/usr/bin/python3

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONNS="${CONNS:-64}"
HS_CLIENTS="${HS_CLIENTS:-16}"
KEYS="${KEYS:-ecdsa rsa}"
TESTS="${TESTS:-keepalive full resumed}"
PROXIES="${PROXIES:-cutover haproxy}"
CUTOVER_BIN="${CUTOVER_BIN:-$REPO_ROOT/build/cutover}"
PROXY_CPU="${PROXY_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
STARTUP_TIMEOUT="${STARTUP_TIMEOUT:-5}"
KEEP_WORKDIR="${KEEP_WORKDIR:-0}"
TIMED="${TIMED:-1}"
INSTRUCTIONS="${INSTRUCTIONS:-0}"
INSTR_SECONDS="${INSTR_SECONDS:-5 15}"
INSTR_CONNS="${INSTR_CONNS:-8}"
INSTR_TIMEOUT="${INSTR_TIMEOUT:-120}"

log() { printf '[tls-bench] %s\n' "$*" >&2; }
die() { printf '[tls-bench] error: %s\n' "$*" >&2; exit 1; }

# --- checks -----------------------------------------------------------------------------

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ "$DURATION" =~ ^[1-9][0-9]*s?$ ]] || die "DURATION must be seconds, like 10s"
[[ "$WARMUP" =~ ^[0-9]+s?$ ]] || die "WARMUP must be seconds, like 2s"
[[ "$CONNS" =~ ^[1-9][0-9]*$ ]] || die "CONNS must be one positive integer"
[[ "$HS_CLIENTS" =~ ^[1-9][0-9]*$ ]] && ((HS_CLIENTS <= 256)) \
  || die "HS_CLIENTS must be an integer from 1 to 256"
[[ "$STARTUP_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "STARTUP_TIMEOUT must be a positive integer"
[[ "$INSTR_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "INSTR_TIMEOUT must be a positive integer"
[[ "$INSTR_CONNS" =~ ^[1-9][0-9]*$ ]] || die "INSTR_CONNS must be a positive integer"
[[ "$INSTR_SECONDS" =~ ^[1-9][0-9]*\ +[1-9][0-9]*$ ]] || die "INSTR_SECONDS must be two integers"
for v in TIMED INSTRUCTIONS KEEP_WORKDIR; do
  [[ "${!v}" == 0 || "${!v}" == 1 ]] || die "$v must be 0 or 1"
done
for k in $KEYS; do case "$k" in ecdsa | rsa) ;; *) die "unknown key type in KEYS: $k" ;; esac; done
for t in $TESTS; do
  case "$t" in keepalive | full | resumed) ;; *) die "unknown test in TESTS: $t" ;; esac
done
for p in $PROXIES; do
  case "$p" in cutover | haproxy | nginx) ;; *) die "unknown proxy in PROXIES: $p" ;; esac
done
readonly DURATION_S="${DURATION%s}" WARMUP_S="${WARMUP%s}"

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
OPENSSL="$(find_tool openssl)" || die "openssl (CLI) not found: apt-get install openssl"
TASKSET="$(find_tool taskset)" || die "taskset not found (util-linux)"
CURL="$(find_tool curl)" || die "curl not found; run: bash deploy/setup.sh bench-deps"
[[ -x "$PYTHON" ]] || die "$PYTHON not found"
VALGRIND=""
if [[ "$INSTRUCTIONS" == 1 ]]; then
  VALGRIND="$(find_tool valgrind)" || die "valgrind not found; run: bash deploy/setup.sh bench-deps"
fi
readonly WRK HAPROXY NGINX OPENSSL TASKSET CURL VALGRIND

NCPU="$(nproc)"
if ((NCPU < 2)); then
  log "warning: only $NCPU CPU; proxy and load share it, figures are not comparable"
  PROXY_CPU=0 LOAD_CPU=0
fi
readonly CLK_TCK="$(getconf CLK_TCK)"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE="$(ulimit -n)"
[[ "$NOFILE" == unlimited ]] && NOFILE=1048576
MAXCONN=4096
((2 * MAXCONN + 256 > NOFILE)) && MAXCONN=$(((NOFILE - 256) / 2))
UPSTREAM_POOL=$((CONNS > HS_CLIENTS ? CONNS : HS_CLIENTS))
readonly NOFILE MAXCONN UPSTREAM_POOL

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cutover-tls-bench.XXXXXX")"
readonly WORK RESULTS="$WORK/tls.tsv" NOTES="$WORK/notes.txt" NEGOTIATED="$WORK/negotiated.tsv"
readonly INSTR_RESULTS="$WORK/instructions.tsv"
: >"$RESULTS"; : >"$NOTES"; : >"$NEGOTIATED"; : >"$INSTR_RESULTS"

# --- processes (as in run.sh) -----------------------------------------------------------

STARTED=()  # every process this script started, stopped by PID on exit
PROXY_WRAP=()     # command put before the proxy's (valgrind in the instruction runs)
WAIT_OK_TIMEOUT="$STARTUP_TIMEOUT"
STOP_GRACE=5      # seconds a process has between SIGTERM and SIGKILL

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
  STARTED=()
  if [[ "$KEEP_WORKDIR" == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP


# True once URL answers 200 "ok"; false after STARTUP_TIMEOUT or if PID dies first.
wait_ok() {
  local url="$1" pid="$2" deadline=$((SECONDS + WAIT_OK_TIMEOUT)) body
  while ((SECONDS <= deadline)); do
    is_alive "$pid" || return 1
    body="$("$CURL" -sk -m 1 "$url" 2>/dev/null)" && [[ "$body" == ok ]] && return 0
    sleep 0.1
  done
  return 1
}

# --- certificates -----------------------------------------------------------------------

# make_cert KIND: DIR/KIND.crt, KIND.key and KIND.pem (certificate then key, for HAProxy).
make_cert() {
  local kind="$1" dir="$WORK/certs" key_args
  mkdir -p "$dir"
  case "$kind" in
    ecdsa) key_args=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
    rsa) key_args=(-newkey rsa:2048) ;;
  esac
  timeout 60 "$OPENSSL" req -x509 "${key_args[@]}" -sha256 -nodes -days 7 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/$kind.key" -out "$dir/$kind.crt" >"$dir/$kind.log" 2>&1 \
    || die "openssl req failed for the $kind certificate: $(tail -3 "$dir/$kind.log")"
  cat "$dir/$kind.crt" "$dir/$kind.key" >"$dir/$kind.pem"
  chmod 600 "$dir/$kind.key" "$dir/$kind.pem"
  log "certificate $kind: $("$OPENSSL" x509 -in "$dir/$kind.crt" -noout -text \
    | awk '/Public Key Algorithm|Public-Key:|NIST CURVE/ { $1 = $1; printf "%s; ", $0 }')"
}

# --- backend (as in run.sh) -------------------------------------------------------------

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
  wait_ok "http://127.0.0.1:$BACKEND_PORT/" "$BACKEND_PID" \
    || die "backend nginx did not start: $(tail -5 "$dir/logs/error.log" 2>/dev/null)"
  log "backend nginx on 127.0.0.1:$BACKEND_PORT (pid $BACKEND_PID, CPU $LOAD_CPU)"
}

# --- proxies ----------------------------------------------------------------------------
# Configs as in run.sh, plus TLS on the listener with the one certificate; TLS settings
# (versions, ciphers, groups, tickets) are each proxy's defaults.

write_cutover_config() {
  local dir="$1" kind="$2"
  cat >"$dir/cutover.toml" <<EOF
[listener]
address = "127.0.0.1:$PROXY_PORT"
workers = 1

[listener.tls]
certificates = [ { cert = "$WORK/certs/$kind.crt", key = "$WORK/certs/$kind.key" } ]

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
  local dir="$1" kind="$2"
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
  bind 127.0.0.1:$PROXY_PORT ssl crt $WORK/certs/$kind.pem alpn http/1.1
  maxconn $MAXCONN
  default_backend be

backend be
  server backend 127.0.0.1:$BACKEND_PORT
EOF
  echo "$dir/haproxy.cfg"
}

write_nginx_config() {
  local dir="$1" kind="$2"
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
    listen 127.0.0.1:$PROXY_PORT ssl backlog=4096;
    ssl_certificate $WORK/certs/$kind.crt;
    ssl_certificate_key $WORK/certs/$kind.key;
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

# start_proxy NAME KIND DIR: sets PROXY_PORT, PROXY_PID (to stop), MEASURE_PID (doing the work).
start_proxy() {
  local name="$1" kind="$2" dir="$3" cfg
  mkdir -p "$dir"
  PROXY_PORT="$(free_port)"
  case "$name" in
    cutover)
      if [[ ! -x "$CUTOVER_BIN" ]]; then
        echo "cutover binary $CUTOVER_BIN not found" >"$dir/failure"
        return 1
      fi
      cfg="$(write_cutover_config "$dir" "$kind")"
      if ! "$CUTOVER_BIN" check --config "$cfg" >"$dir/check.log" 2>&1; then
        echo "cutover check --config rejected the bench config: $(tail -3 "$dir/check.log" | tr '\n' ' ')" >"$dir/failure"
        return 1
      fi
      "$TASKSET" -c "$PROXY_CPU" "${PROXY_WRAP[@]}" "$CUTOVER_BIN" run --config "$cfg" \
        >"$dir/proxy.log" 2>&1 &
      ;;
    haproxy)
      cfg="$(write_haproxy_config "$dir" "$kind")"
      "$TASKSET" -c "$PROXY_CPU" "${PROXY_WRAP[@]}" "$HAPROXY" -db -f "$cfg" >"$dir/proxy.log" 2>&1 &
      ;;
    nginx)
      cfg="$(write_nginx_config "$dir" "$kind")"
      "$TASKSET" -c "$PROXY_CPU" "$NGINX" -p "$dir" -e "$dir/error.log" -c "$cfg" \
        >"$dir/proxy.log" 2>&1 &
      ;;
  esac
  PROXY_PID=$!
  STARTED+=("$PROXY_PID")
  MEASURE_PID="$PROXY_PID"
  if ! wait_ok "https://127.0.0.1:$PROXY_PORT/" "$PROXY_PID"; then
    local why="did not answer 200 \"ok\" through https://127.0.0.1:$PROXY_PORT/ within ${WAIT_OK_TIMEOUT}s"
    if ! is_alive "$PROXY_PID"; then
      local code=0
      wait "$PROXY_PID" 2>/dev/null || code=$?
      why="exited (status $code) before answering"
    fi
    echo "$name ($kind) $why; log: $(tail -3 "$dir/proxy.log" "$dir/error.log" 2>/dev/null | tr '\n' ' ')" \
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

declare -A BROKEN=()

note_failure() {
  local key="$1" dir="$2" what
  what="$(cat "$dir/failure" 2>/dev/null || echo "$key failed")"
  log "FAILED: $what"
  if [[ -z "${BROKEN[$key]:-}" ]]; then
    printf -- '- %s\n' "$what" >>"$NOTES"
    BROKEN[$key]=1
  fi
}

# What one handshake negotiates with this proxy's defaults (the clients use OpenSSL's
# defaults as s_client does): version, cipher, key exchange group, signature.
record_negotiated() {
  local name="$1" kind="$2" dir="$3" out="$3/s_client.txt"
  timeout 10 "$TASKSET" -c "$LOAD_CPU" "$OPENSSL" s_client -connect "127.0.0.1:$PROXY_PORT" \
    -servername localhost </dev/null >"$out" 2>&1 || true
  local proto cipher group sig
  # "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" (a TLS 1.3 s_client that reads no
  # session ticket prints no SSL-Session block).
  proto="$(sed -n 's/^New, \([^,]*\), Cipher is .*/\1/p' "$out" | head -1)"
  cipher="$(sed -n 's/^New, [^,]*, Cipher is //p' "$out" | head -1)"
  group="$(sed -n 's/^Server Temp Key: *//p' "$out" | head -1)"
  sig="$(sed -n 's/^Peer signature type: *//p' "$out" | head -1)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "${proto:--}" "${cipher:--}" "${group:--}" \
    "${sig:--}" >>"$NEGOTIATED"
  log "  negotiated with $name ($kind): ${proto:-?} ${cipher:-?}, ${group:-?}, ${sig:-?}"
}

# --- loads ------------------------------------------------------------------------------

parse_wrk() {
  awk '/^BENCH / {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["requests"], v["duration_us"], v["p50_us"], v["p99_us"],
          v["err_connect"] + v["err_read"] + v["err_write"] + v["err_status"] + v["err_timeout"]
  }' "$1"
}

# run_wrk SECONDS URL OUTFILE [CONNECTIONS]: keep-alive load (CONNS connections unless
# given); wrk's output in OUTFILE.
run_wrk() {
  local secs="$1" url="$2" out="$3" conns="${4:-$CONNS}"
  timeout -k 5 $((secs + 30)) "$TASKSET" -c "$LOAD_CPU" "$WRK" -t 1 -c "$conns" -d "${secs}s" \
    --latency -s "$HERE/report.lua" "$url" >"$out" 2>&1
}

# s_time sends "GET <path> HTTP/1.0\r\n\r\n", with no Host header. cutover forwards such a
# request as HTTP/1.1 without Host, which the nginx backend answers with 400 and a close, so
# cutover would reconnect upstream on every request while HAProxy (which forwards HTTP/1.0 as
# it is) would not. The "path" below therefore carries the rest of the request line and a
# Host header: the request sent is
#   GET / HTTP/1.0\r\nHost: localhost\r\nX-Bench: s_time HTTP/1.0\r\n\r\n
# check_request verifies that it is answered 200 through each proxy.
readonly S_TIME_PATH=$'/ HTTP/1.0\r\nHost: localhost\r\nX-Bench: s_time'

# check_request DIR: the exact s_time request through the proxy must get "200" and "ok".
check_request() {
  local dir="$1" out="$1/request_check.txt"
  printf 'GET %s HTTP/1.0\r\n\r\n' "$S_TIME_PATH" \
    | timeout 10 "$OPENSSL" s_client -quiet -connect "127.0.0.1:$PROXY_PORT" >"$out" 2>/dev/null || true
  head -1 "$out" | grep -q '^HTTP/1\.[01] 200 ' && grep -q '^ok' "$out"
}

# run_s_time MODE SECONDS PORT DIR: HS_CLIENTS concurrent `openssl s_time` clients (MODE -new
# or -reuse), each for SECONDS, each doing "GET / HTTP/1.0" on every connection. Writes
# DIR/s_time.N.txt and DIR/summary: "connections new reused rate failed_clients", where rate is
# the sum over clients of connections / that client's own wall time (s_time stops at a
# whole second of the clock, so its runs last SECONDS to SECONDS+1).
run_s_time() {
  local mode="$1" secs="$2" port="$3" dir="$4" i pids=()
  mkdir -p "$dir"
  for ((i = 0; i < HS_CLIENTS; i++)); do
    # The wrapper stamps its own start and end; s_time's "real seconds" are whole seconds.
    timeout -k 5 $((secs + 30)) "$TASKSET" -c "$LOAD_CPU" bash -c '
      start=$(date +%s%N)
      rc=0; "$@" || rc=$?
      echo; echo "WALL_NS $(( $(date +%s%N) - start )) RC $rc"' _ \
      "$OPENSSL" s_time -connect "127.0.0.1:$port" "$mode" -time "$secs" -www "$S_TIME_PATH" \
      >"$dir/s_time.$i.txt" 2>&1 &
    pids+=($!)
    STARTED+=("$!")
  done
  for i in "${pids[@]}"; do
    wait "$i" 2>/dev/null || true
    forget_pid "$i"
  done
  local f
  for f in "$dir"/s_time.*.txt; do
    awk '
      /^WALL_NS / { wall = $2; rc = $4 }
      / connections in .*s; / { n = $1 }
      { if ($0 !~ / / && $0 ~ /^[*r]+$/) { new += gsub(/\*/, "*"); reused += gsub(/r/, "r") } }
      END { printf "%s %d %d %s %s\n", (n == "" ? "-" : n), new, reused, (wall == "" ? "-" : wall), (rc == "" ? "-" : rc) }
    ' "$f"
  done | awk '
    { if ($1 == "-" || $4 == "-" || $5 != 0) { failed++; next }
      conns += $1; new += $2; reused += $3; rate += $1 / ($4 / 1e9) }
    END { printf "%d %d %d %.0f %d\n", conns, new, reused, rate, failed }' >"$dir/summary"
}

# Columns of tls.tsv: proxy key test round status rate p50_us p99_us cpu_s per_cpu_s hwm_kib
# errors proxy_cpu_busy load_cpu_busy other_on_proxy_cpu new_sessions reused_sessions
record() { (IFS=$'\t'; echo "$*") >>"$RESULTS"; }

run_one() {
  local name="$1" kind="$2" test="$3" round="$4"
  local dir="$WORK/$kind-$test-$name-r$round"
  if [[ -n "${BROKEN[$name/$kind]:-}" ]]; then
    record "$name" "$kind" "$test" "$round" skipped - - - - - - - - - - - -
    return 0
  fi
  log "round $round: $name, $kind certificate, $test"
  if ! start_proxy "$name" "$kind" "$dir"; then
    note_failure "$name/$kind" "$dir"
    record "$name" "$kind" "$test" "$round" failed - - - - - - - - - - - -
    return 0
  fi
  if ((round == 1)) && [[ "$test" == "${TESTS%% *}" ]]; then record_negotiated "$name" "$kind" "$dir"; fi
  if [[ "$test" != keepalive ]] && ! check_request "$dir"; then
    echo "$name ($kind) did not answer the s_time request with 200 ok: $(head -1 "$dir/request_check.txt")" \
      >"$dir/failure"
    stop_pid "$PROXY_PID"
    note_failure "$name/$kind" "$dir"
    record "$name" "$kind" "$test" "$round" failed - - - - - - - - - - - -
    return 0
  fi
  local url="https://127.0.0.1:$PROXY_PORT/"
  if ((WARMUP_S > 0)); then
    case "$test" in
      keepalive) run_wrk "$WARMUP_S" "$url" "$dir/warmup.txt" || true ;;
      full) run_s_time -new "$WARMUP_S" "$PROXY_PORT" "$dir/warmup" || true ;;
      resumed) run_s_time -reuse "$WARMUP_S" "$PROXY_PORT" "$dir/warmup" || true ;;
    esac
  fi
  local t0 t1 rc=0 load0 load1 pcpu0 pcpu1
  load0="$(cpu_jiffies "$LOAD_CPU")"
  pcpu0="$(cpu_jiffies "$PROXY_CPU")"
  t0="$(cpu_ticks "$MEASURE_PID" 2>/dev/null || echo -)"
  case "$test" in
    keepalive) run_wrk "$DURATION_S" "$url" "$dir/wrk.txt" || rc=$? ;;
    full) run_s_time -new "$DURATION_S" "$PROXY_PORT" "$dir/measured" || rc=$? ;;
    resumed) run_s_time -reuse "$DURATION_S" "$PROXY_PORT" "$dir/measured" || rc=$? ;;
  esac
  t1="$(cpu_ticks "$MEASURE_PID" 2>/dev/null || echo -)"
  load1="$(cpu_jiffies "$LOAD_CPU")"
  pcpu1="$(cpu_jiffies "$PROXY_CPU")"
  local hwm alive=1
  hwm="$(status_kib "$MEASURE_PID" VmHWM 2>/dev/null || echo -)"
  is_alive "$MEASURE_PID" || alive=0
  stop_pid "$PROXY_PID"

  local count rate p50=- p99=- errors new=- reused=- dur_us
  if [[ "$test" == keepalive ]]; then
    read -r count dur_us p50 p99 errors <<<"$(parse_wrk "$dir/wrk.txt")" || true
    [[ -n "${count:-}" ]] && rate="$(awk -v n="$count" -v d="$dur_us" 'BEGIN { printf "%.0f", n / (d / 1e6) }')"
  else
    read -r count new reused rate errors <"$dir/measured/summary" || true
  fi
  if ((alive == 0)) || [[ -z "${count:-}" || "$t1" == - || "$t0" == - ]] || ((rc != 0)); then
    echo "$name ($kind) crashed or the client failed during the $test run (exit $rc)" >"$dir/failure"
    note_failure "$name/$kind" "$dir"
    record "$name" "$kind" "$test" "$round" failed - - - - - - - - - - - -
    return 0
  fi
  local status=ok
  ((errors > 0)) && status=errors
  ((count == 0)) && status=failed
  local cpu_s per_cpu
  cpu_s="$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')"
  per_cpu="$(awk -v n="$count" -v c="$cpu_s" 'BEGIN { if (c > 0) printf "%.0f", n / c; else print "-" }')"
  local load_busy proxy_busy other
  load_busy="$(busy_percent "$load0" "$load1")"
  proxy_busy="$(busy_percent "$pcpu0" "$pcpu1")"
  other="$(other_percent "$pcpu0" "$pcpu1" "$((t1 - t0))")"
  record "$name" "$kind" "$test" "$round" "$status" "$rate" "$p50" "$p99" "$cpu_s" "$per_cpu" \
    "$hwm" "$errors" "$proxy_busy" "$load_busy" "$other" "$new" "$reused"
  local extra=""
  [[ "$test" != keepalive ]] && extra=", $new new + $reused resumed sessions"
  log "  $rate/s, CPU ${cpu_s}s, $per_cpu per CPU-s, errors $errors$extra;" \
    "CPU $PROXY_CPU ${proxy_busy}% busy (other work ${other}%), CPU $LOAD_CPU ${load_busy}% busy"
}

# --- instructions per operation (callgrind) ---------------------------------------------

# Columns of instructions.tsv: proxy key test seconds status ops instructions
record_instr() { (IFS=$'\t'; echo "$*") >>"$INSTR_RESULTS"; }

# instr_one NAME KIND TEST SECONDS: one run of the proxy under callgrind with TEST's load for
# SECONDS; records the operations the clients completed and the proxy's total instructions.
instr_one() {
  local name="$1" kind="$2" test="$3" secs="$4"
  local dir="$WORK/instr-$kind-$test-$name-${secs}s"
  mkdir -p "$dir"
  log "callgrind: $name, $kind certificate, $test, ${secs}s"
  PROXY_WRAP=("$VALGRIND" --tool=callgrind "--callgrind-out-file=$dir/callgrind.out")
  WAIT_OK_TIMEOUT="$INSTR_TIMEOUT"
  STOP_GRACE="$INSTR_TIMEOUT"
  local launched=0 started=0 ops="" errors=0 rc=0
  if start_proxy "$name" "$kind" "$dir"; then
    launched=1 started=1
    if [[ "$test" != keepalive ]] && ! check_request "$dir"; then
      echo "$name ($kind) did not answer the s_time request with 200 ok under callgrind" >"$dir/failure"
      started=0
    fi
  fi
  if ((started == 1)); then
    case "$test" in
      keepalive)
        run_wrk "$secs" "https://127.0.0.1:$PROXY_PORT/" "$dir/wrk.txt" "$INSTR_CONNS" || rc=$?
        read -r ops _ _ _ errors <<<"$(parse_wrk "$dir/wrk.txt")" || true
        ;;
      full | resumed)
        local mode=-new
        [[ "$test" == resumed ]] && mode=-reuse
        run_s_time "$mode" "$secs" "$PROXY_PORT" "$dir/load" || rc=$?
        read -r ops _ _ _ errors <"$dir/load/summary" || true
        ;;
    esac
  fi
  # SIGTERM: the proxy exits and callgrind writes its totals (STOP_GRACE allows for that).
  ((launched == 1)) && stop_pid "$PROXY_PID"
  PROXY_WRAP=()
  WAIT_OK_TIMEOUT="$STARTUP_TIMEOUT"
  STOP_GRACE=5
  local ir=""
  [[ -f "$dir/callgrind.out" ]] \
    && ir="$(awk '/^(summary|totals):/ { print $2; exit }' "$dir/callgrind.out")"
  if ((started == 0)) || ((rc != 0)) || [[ -z "$ops" || -z "$ir" ]] || ((errors > 0)); then
    [[ -f "$dir/failure" ]] || echo "$name ($kind) $test under callgrind: no complete count" \
      "(client exit $rc, errors ${errors:-?}, instructions ${ir:-none})" >"$dir/failure"
    log "FAILED: $(cat "$dir/failure")"
    printf -- '- callgrind: %s\n' "$(cat "$dir/failure")" >>"$NOTES"
    record_instr "$name" "$kind" "$test" "$secs" failed - -
    return 0
  fi
  record_instr "$name" "$kind" "$test" "$secs" ok "$ops" "$ir"
  log "  $ops operations, $ir instructions"
}

measure_instructions() {
  local kind test secs name
  for kind in $KEYS; do
    for test in $TESTS; do
      for secs in $INSTR_SECONDS; do
        for name in $PROXIES; do
          if [[ "$name" == nginx ]]; then continue; fi  # master + worker: not measured here
          instr_one "$name" "$kind" "$test" "$secs"
        done
      done
    done
  done
}

# --- report -----------------------------------------------------------------------------

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
    echo "head=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "tree=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "haproxy=$("$HAPROXY" -v | awk 'NR == 1 { print $3 }')"
    echo "haproxy_openssl=$("$HAPROXY" -vv 2>/dev/null | sed -n 's/^Running on OpenSSL version : //p' | head -1)"
    echo "nginx=$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')"
    echo "wrk=$("$WRK" -v 2>&1 | awk 'NR == 1 { print $2 }')"
    echo "openssl=$("$OPENSSL" version)"
    echo "rounds=$ROUNDS"
    echo "duration=$DURATION_S"
    echo "warmup=$WARMUP_S"
    echo "conns=$CONNS"
    echo "hs_clients=$HS_CLIENTS"
    echo "keys=$KEYS"
    echo "tests=$TESTS"
    echo "proxies=$PROXIES"
    echo "proxy_cpu=$PROXY_CPU"
    echo "load_cpu=$LOAD_CPU"
    echo "timed=$TIMED"
    echo "instructions=$INSTRUCTIONS"
    echo "instr_seconds=$INSTR_SECONDS"
    echo "instr_conns=$INSTR_CONNS"
    echo "valgrind=$([[ -n "$VALGRIND" ]] && "$VALGRIND" --version)"
    echo "background_busy=$background"
  } >"$WORK/meta.env"
}

main() {
  [[ " $PROXIES " == *" cutover "* && ! -x "$CUTOVER_BIN" ]] \
    && log "warning: $CUTOVER_BIN not found; cutover will be reported as failed"
  log "work dir $WORK; $ROUNDS rounds x {$KEYS} x {$TESTS} x {$PROXIES}, ${DURATION_S}s each"
  write_meta
  log "busy before the run: CPU $PROXY_CPU $(sed -n 's/^background_busy=//p' "$WORK/meta.env" | awk '{ print $1 }') %," \
    "CPU $LOAD_CPU $(sed -n 's/^background_busy=//p' "$WORK/meta.env" | awk '{ print $2 }') %"
  local kind
  for kind in $KEYS; do make_cert "$kind"; done
  start_backend
  local round test name order
  local -a proxies
  read -r -a proxies <<<"$PROXIES"
  for ((round = 1; round <= ROUNDS && TIMED == 1; round++)); do
    # Rotate which proxy goes first, as run.sh does.
    order="${proxies[*]:$(((round - 1) % ${#proxies[@]}))} ${proxies[*]:0:$(((round - 1) % ${#proxies[@]}))}"
    for kind in $KEYS; do
      for test in $TESTS; do
        for name in $order; do run_one "$name" "$kind" "$test" "$round"; done
      done
    done
  done
  [[ "$INSTRUCTIONS" == 1 ]] && measure_instructions
  "$PYTHON" "$HERE/tls_report.py" --meta "$WORK/meta.env" --results "$RESULTS" \
    --negotiated "$NEGOTIATED" --notes "$NOTES" --instructions "$INSTR_RESULTS"
}

main "$@"; exit $?
