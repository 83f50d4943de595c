#!/usr/bin/env bash
# Benchmark: what the per-request metrics cost. Compares a release build with metrics
# (build/) against one with them compiled out (build-nometrics/, meson -Dmetrics=false,
# CUTOVER_METRICS=0), two ways:
#   1. instructions per proxied request under callgrind (tests/bench/instructions_per_request.py):
#      the precise, repeatable figure (does not depend on CPU speed or other load);
#   2. requests/s with wrk (tests/bench/run.sh, cutover and HAProxy, 64 connections), in
#      interleaved rounds, each build's cutover next to an HAProxy run from the same
#      run.sh invocation: the noisy figure, reported as ratios.
# Builds both binaries first when missing or stale (ninja decides). Prints a markdown report
# on stdout (progress on stderr).
#
#   bash deploy/setup.sh bench-deps   # once: wrk, haproxy, nginx, valgrind
#   bash tests/bench/metrics_cost.sh > /tmp/metrics-cost.md
#
# Environment (defaults in brackets):
#   BUILD_DIR [build]  NOMETRICS_BUILD_DIR [build-nometrics]   release builds, metrics on / off
#   CUTOVER_BIN [$BUILD_DIR/cutover]  CUTOVER_NOMETRICS_BIN [$NOMETRICS_BUILD_DIR/cutover]
#                            set either to use that binary as it is (not built here)
#   BUILD [1]                0 = build nothing, use the binaries as they are
#   JOBS [2]                 ninja -j
#   INSTR_REQUESTS ["2000 12000"]  the two request counts N1 N2 of the callgrind runs
#   INSTR_CONNS [64]         keep-alive client connections in the callgrind runs
#   INSTR_REPEAT [2]         repetitions of every callgrind run (shows the spread)
#   INSTR_TIMEOUT [300]      seconds one callgrind run may take
#   ROUNDS [3]               interleaved throughput rounds (each: one run.sh per build)
#   DURATION [5s]  WARMUP [1s]  CONNS [64]   passed to run.sh (IDLE_CONNS=0, ROUNDS=1)
#   INSTRUCTIONS [1]  THROUGHPUT [1]   0 = skip that part
#   KEEP_WORKDIR [0]         1 = keep run.sh's work dirs, callgrind out files, raw figures
#
# Order within the throughput rounds alternates (round 1: metrics on first, cutover before
# HAProxy; round 2: metrics off first, HAProxy before cutover; ...), so the first-run bias
# that docs/benchmarks.md describes does not always hit the same build or proxy.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
readonly HERE REPO_ROOT
readonly PYTHON=/usr/bin/python3
cd "$REPO_ROOT"

BUILD_DIR="${BUILD_DIR:-build}"
NOMETRICS_BUILD_DIR="${NOMETRICS_BUILD_DIR:-build-nometrics}"
BUILD="${BUILD:-1}"
ON_BIN_GIVEN="${CUTOVER_BIN:+1}"
OFF_BIN_GIVEN="${CUTOVER_NOMETRICS_BIN:+1}"
ON_BIN="${CUTOVER_BIN:-$BUILD_DIR/cutover}"
OFF_BIN="${CUTOVER_NOMETRICS_BIN:-$NOMETRICS_BUILD_DIR/cutover}"
JOBS="${JOBS:-2}"
INSTR_REQUESTS="${INSTR_REQUESTS:-2000 12000}"
INSTR_CONNS="${INSTR_CONNS:-64}"
INSTR_REPEAT="${INSTR_REPEAT:-2}"
INSTR_TIMEOUT="${INSTR_TIMEOUT:-300}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5s}"
WARMUP="${WARMUP:-1s}"
CONNS="${CONNS:-64}"
INSTRUCTIONS="${INSTRUCTIONS:-1}"
THROUGHPUT="${THROUGHPUT:-1}"
KEEP_WORKDIR="${KEEP_WORKDIR:-0}"

log() { printf '[metrics-cost] %s\n' "$*" >&2; }
die() { printf '[metrics-cost] error: %s\n' "$*" >&2; exit 1; }

# --- checks -----------------------------------------------------------------------------

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ "$DURATION" =~ ^[1-9][0-9]*[smh]?$ ]] || die "DURATION must look like 5s"
[[ "$WARMUP" =~ ^[0-9]+[smh]?$ ]] || die "WARMUP must look like 1s"
[[ "$CONNS" =~ ^[1-9][0-9]*$ ]] || die "CONNS must be one integer"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a positive integer"
[[ "$INSTR_REQUESTS" =~ ^[0-9]+\ +[1-9][0-9]*$ ]] || die "INSTR_REQUESTS must be two integers"
[[ "$INSTR_CONNS" =~ ^[1-9][0-9]*$ ]] || die "INSTR_CONNS must be a positive integer"
[[ "$INSTR_REPEAT" =~ ^[1-9][0-9]*$ ]] || die "INSTR_REPEAT must be a positive integer"
[[ "$INSTR_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "INSTR_TIMEOUT must be a positive integer"
for v in BUILD INSTRUCTIONS THROUGHPUT KEEP_WORKDIR; do
  [[ "${!v}" == 0 || "${!v}" == 1 ]] || die "$v must be 0 or 1"
done

# Seconds in a wrk duration ("10s", "2m", "1h", "10").
seconds_of() {
  local d="$1" n="${1%[smh]}"
  case "$d" in *m) echo $((n * 60)) ;; *h) echo $((n * 3600)) ;; *) echo "$n" ;; esac
}

# As run.sh finds its tools: PATH, then the sbin directories (haproxy, nginx).
find_tool() {
  local name="$1" dir
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  for dir in /usr/sbin /sbin /usr/local/sbin; do
    [[ -x "$dir/$name" ]] && { echo "$dir/$name"; return 0; }
  done
  return 1
}
[[ -x "$PYTHON" ]] || die "$PYTHON not found"
if [[ "$BUILD" == 1 ]]; then
  find_tool meson >/dev/null || die "meson not found; run: bash deploy/setup.sh bench-deps"
  find_tool ninja >/dev/null || die "ninja not found; run: bash deploy/setup.sh bench-deps"
fi
if [[ "$INSTRUCTIONS" == 1 ]]; then
  find_tool valgrind >/dev/null || die "valgrind not found; run: bash deploy/setup.sh bench-deps"
  find_tool nginx >/dev/null || die "nginx not found; run: bash deploy/setup.sh bench-deps"
fi
if [[ "$THROUGHPUT" == 1 ]]; then
  for t in wrk haproxy nginx curl taskset; do
    find_tool "$t" >/dev/null || die "$t not found; run: bash deploy/setup.sh bench-deps"
  done
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cutover-metrics-cost.XXXXXX")"
readonly WORK

# --- processes --------------------------------------------------------------------------

CHILD=""  # the one helper (run.sh or the callgrind script) running now, by PID

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cleanup() {
  local i
  if [[ -n "$CHILD" ]] && is_alive "$CHILD"; then
    # SIGTERM: `timeout` passes it on; run.sh and the callgrind script stop what they started.
    kill -TERM "$CHILD" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do is_alive "$CHILD" || break; sleep 0.1; done
    if is_alive "$CHILD"; then kill -KILL "$CHILD" 2>/dev/null || true; fi
    wait "$CHILD" 2>/dev/null || true
  fi
  CHILD=""
  if [[ "$KEEP_WORKDIR" == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# run_bounded SECONDS OUT ERR CMD...: runs CMD under `timeout` in the background, waits for
# it and returns its status; cleanup stops it if this script is interrupted. ERR "-" leaves
# stderr as it is (progress shows through).
run_bounded() {
  local limit="$1" out="$2" err="$3"; shift 3
  if [[ "$err" == - ]]; then
    timeout -k 10 "$limit" "$@" >"$out" &
  else
    timeout -k 10 "$limit" "$@" >"$out" 2>"$err" &
  fi
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

# --- builds -----------------------------------------------------------------------------

# Prints "name=value" for each wanted option of build dir DIR whose value differs.
differing_options() {
  local dir="$1"; shift
  meson introspect "$dir" --buildoptions | "$PYTHON" -c '
import json, sys
have = {o["name"]: o["value"] for o in json.load(sys.stdin)}
for want in sys.argv[1:]:
    name, _, value = want.partition("=")
    cur = have.get(name)
    cur = ("true" if cur else "false") if isinstance(cur, bool) else str(cur)
    if cur != value:
        print(want)
' "$@"
}

# ensure_build DIR METRICS: a release build of cutover in DIR with -Dmetrics=METRICS, set
# up or reconfigured (only the options that differ) as needed, then brought up to date.
ensure_build() {
  local dir="$1" metrics="$2" opt args=()
  local want=(buildtype=release b_sanitize=none "metrics=$metrics")
  if [[ -f "$dir/build.ninja" && -f "$dir/meson-private/coredata.dat" ]]; then
    local diff
    diff="$(differing_options "$dir" "${want[@]}")" || die "cannot read the build options of $dir"
    if [[ -n "$diff" ]]; then
      while IFS= read -r opt; do args+=("-D$opt"); done <<<"$diff"
      log "meson: reconfiguring $dir (${args[*]})"
      meson configure "$dir" "${args[@]}" >&2
    fi
  else
    for opt in "${want[@]}"; do args+=("-D$opt"); done
    log "meson: setting up $dir (${args[*]})"
    if [[ -d "$dir" && -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
      meson setup --wipe "$dir" "${args[@]}" >&2
    else
      meson setup "$dir" "${args[@]}" >&2
    fi
  fi
  log "ninja: bringing $dir/cutover up to date ($JOBS jobs)"
  ninja -C "$dir" -j "$JOBS" cutover >&2 || die "build failed in $dir"
}

if [[ "$BUILD" == 1 ]]; then
  [[ -n "$ON_BIN_GIVEN" ]] || ensure_build "$BUILD_DIR" true
  [[ -n "$OFF_BIN_GIVEN" ]] || ensure_build "$NOMETRICS_BUILD_DIR" false
fi
[[ -x "$ON_BIN" ]] || die "$ON_BIN not found (metrics-on binary)"
[[ -x "$OFF_BIN" ]] || die "$OFF_BIN not found (metrics-off binary)"
ON_BIN="$(cd "$(dirname "$ON_BIN")" && pwd)/$(basename "$ON_BIN")"
OFF_BIN="$(cd "$(dirname "$OFF_BIN")" && pwd)/$(basename "$OFF_BIN")"
cmp -s "$ON_BIN" "$OFF_BIN" && die "$ON_BIN and $OFF_BIN are the same file content"
readonly ON_BIN OFF_BIN

# --- instructions per request -----------------------------------------------------------

measure_instructions() {
  local n1 n2
  read -r n1 n2 <<<"$INSTR_REQUESTS"
  local keep=()
  [[ "$KEEP_WORKDIR" == 1 ]] && keep=(--keep "$WORK/callgrind")
  # Four runs per repetition, each bounded by INSTR_TIMEOUT; plus start-up of the backend.
  local limit=$((INSTR_REPEAT * 4 * INSTR_TIMEOUT + 60))
  log "callgrind: $INSTR_REPEAT x {$n1, $n2} requests x {metrics on, metrics off}," \
    "$INSTR_CONNS connections"
  local rc=0
  run_bounded "$limit" "$WORK/instructions.md" - \
    "$PYTHON" "$HERE/instructions_per_request.py" \
    --bin "metrics on=$ON_BIN" --bin "metrics off=$OFF_BIN" \
    --requests "$n1" "$n2" --connections "$INSTR_CONNS" --repeat "$INSTR_REPEAT" \
    --timeout "$INSTR_TIMEOUT" --json "$WORK/instructions.json" "${keep[@]}" || rc=$?
  ((rc == 0)) || { echo "Instruction count failed (exit $rc); see the log on stderr." >"$WORK/instructions.md"; return 0; }
}

# --- throughput -------------------------------------------------------------------------

# Columns of throughput.tsv: round build position proxies status cutover_rps haproxy_rps
# cutover_per_cpu haproxy_per_cpu cutover_cpu_busy load_cpu_busy background_busy
: >"$WORK/throughput.tsv"

throughput_run() {
  local round="$1" build="$2" position="$3" proxies="$4" bin="$5"
  local tmp="$WORK/run-r$round-$build"
  mkdir -p "$tmp"
  log "round $round: run.sh, metrics $build ($bin), PROXIES=\"$proxies\""
  local limit=$((2 * ($(seconds_of "$DURATION") + $(seconds_of "$WARMUP") + 60) + 60))
  local rc=0
  # env, not VAR=... before the function: those would also change this shell's variables
  # (KEEP_WORKDIR) while run_bounded runs.
  run_bounded "$limit" "$tmp/report.md" "$tmp/run.log" \
    env TMPDIR="$tmp" KEEP_WORKDIR=1 ROUNDS=1 DURATION="$DURATION" WARMUP="$WARMUP" \
    CONNS="$CONNS" IDLE_CONNS=0 PROXIES="$proxies" CUTOVER_BIN="$bin" \
    bash "$HERE/run.sh" || rc=$?
  local dir
  dir="$(find "$tmp" -maxdepth 1 -type d -name 'cutover-bench.*' | head -1)"
  if ((rc != 0)) || [[ -z "$dir" || ! -s "$dir/load.tsv" ]]; then
    log "  run.sh failed (exit $rc): $(tail -3 "$tmp/run.log" | tr '\n' ' ')"
    printf '%s\t%s\t%s\t%s\tfailed\t-\t-\t-\t-\t-\t-\t-\n' "$round" "$build" "$position" "$proxies" \
      >>"$WORK/throughput.tsv"
    return 0
  fi
  # load.tsv: proxy conns round status rps p50_us p99_us cpu_s req_per_cpu_s hwm_kib errors
  #           proxy_cpu_busy_pct load_cpu_busy_pct other_on_proxy_cpu_pct
  awk -F'\t' -v r="$round" -v b="$build" -v p="$position" -v order="$proxies" \
    -v bg="$(sed -n 's/^background_busy=//p' "$dir/meta.env" | tr ' ' '/')" '
    $1 == "cutover" { cs = $4; crps = $5; cpc = $9; cbusy = $12; lbusy = $13 }
    $1 == "haproxy" { hs = $4; hrps = $5; hpc = $9 }
    END {
      status = (cs == "ok" && hs == "ok") ? "ok" : "cutover " cs ", haproxy " hs
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
        r, b, p, order, status, crps, hrps, cpc, hpc, cbusy, lbusy, bg
    }' "$dir/load.tsv" >>"$WORK/throughput.tsv"
  log "  $(tail -1 "$WORK/throughput.tsv" | awk -F'\t' '{ printf "%s: cutover %s req/s, HAProxy %s req/s", $5, $6, $7 }')"
}

measure_throughput() {
  local round first second proxies
  for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2 == 1)); then
      first=on second=off proxies="cutover haproxy"
    else
      first=off second=on proxies="haproxy cutover"
    fi
    local b bin position=1
    for b in "$first" "$second"; do
      bin="$ON_BIN"; [[ "$b" == off ]] && bin="$OFF_BIN"
      throughput_run "$round" "$b" "$position" "$proxies" "$bin"
      position=2
    done
  done
}

throughput_report() {
  "$PYTHON" - "$WORK/throughput.tsv" "$ROUNDS" <<'EOF'
import statistics, sys

path, rounds = sys.argv[1], int(sys.argv[2])
rows = [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]
by = {(int(r[0]), r[1]): r for r in rows}

def num(v):
    try:
        return float(v)
    except ValueError:
        return None

def fmt(v, spec=",.0f"):
    return "–" if v is None else format(v, spec)

def series(build, col):
    return [num(by[(i, build)][col]) if (i, build) in by and by[(i, build)][4] == "ok" else None
            for i in range(1, rounds + 1)]

def mean(vals):
    vals = [v for v in vals if v is not None]
    return statistics.mean(vals) if vals else None

def spread(vals):
    vals = [v for v in vals if v is not None]
    if len(vals) < 2:
        return None
    return 100 * (max(vals) - min(vals)) / statistics.mean(vals)

names = {"on": "metrics on", "off": "metrics off"}
head = "| build | figure | " + " | ".join(f"round {i}" for i in range(1, rounds + 1)) + " | mean |"
print(head)
print("|---|---|" + "--:|" * (rounds + 1))
ratio_means = {}
for b in ("on", "off"):
    c = series(b, 5)
    h = series(b, 6)
    r = [ci / hi if ci and hi else None for ci, hi in zip(c, h)]
    ratio_means[b] = mean(r)
    pc = series(b, 7)
    print(f"| {names[b]} | cutover req/s | " + " | ".join(fmt(v) for v in c) + f" | {fmt(mean(c))} |")
    print(f"| {names[b]} | HAProxy req/s, same run | " + " | ".join(fmt(v) for v in h)
          + f" | {fmt(mean(h))} |")
    print(f"| {names[b]} | cutover / HAProxy | " + " | ".join(fmt(v, ".3f") for v in r)
          + f" | {fmt(mean(r), '.3f')} |")
    print(f"| {names[b]} | cutover req per CPU-s | " + " | ".join(fmt(v) for v in pc)
          + f" | {fmt(mean(pc))} |")
print()
on_c, off_c = mean(series("on", 5)), mean(series("off", 5))
on_pc, off_pc = mean(series("on", 7)), mean(series("off", 7))
print("| metrics on / metrics off | ratio |")
print("|---|--:|")
print(f"| cutover req/s (means) | {fmt(on_c / off_c if on_c and off_c else None, '.3f')} |")
if ratio_means["on"] and ratio_means["off"]:
    print(f"| cutover / HAProxy (means of the per-run ratios) | "
          f"{ratio_means['on'] / ratio_means['off']:.3f} |")
print(f"| cutover req per CPU-s (means) | {fmt(on_pc / off_pc if on_pc and off_pc else None, '.3f')} |")
print()
noise = []
for b in ("on", "off"):
    s = spread(series(b, 5))
    if s is not None:
        noise.append(f"cutover {names[b]} {s:.1f} %")
    s = spread(series(b, 6))
    if s is not None:
        noise.append(f"HAProxy in the {names[b]} runs {s:.1f} %")
if noise:
    print("Run-to-run spread ((max - min) / mean of req/s over rounds): " + "; ".join(noise) + ".")
bg = [f"round {r[0]} {names.get(r[1], r[1])}: {r[11]}" for r in rows if r[11] not in ("", "-")]
busy = [f"{r[9]} %" for r in rows if r[9] not in ("", "-")]
if busy:
    print(f"Proxy CPU busy during the cutover runs: {', '.join(busy)}; "
          f"load CPU: {', '.join(r[10] + ' %' for r in rows if r[10] not in ('', '-'))}.")
if bg:
    print("Busy % of CPU 0/CPU 1 in the second before each run.sh started: " + "; ".join(bg) + ".")
failed = [r for r in rows if r[4] != "ok"]
for r in failed:
    print(f"- round {r[0]}, {names.get(r[1], r[1])}: {r[4]}")
EOF
}

# --- report -----------------------------------------------------------------------------

main() {
  local tree head
  head="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  tree="$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
  log "work dir $WORK; metrics on: $ON_BIN; metrics off: $OFF_BIN"
  [[ "$INSTRUCTIONS" == 1 ]] && measure_instructions
  [[ "$THROUGHPUT" == 1 ]] && measure_throughput

  echo "## Metrics cost"
  echo
  echo "$(date -u +%Y-%m-%d), HEAD \`$head\` (working tree \`$tree\`), $(nproc) CPUs" \
    "($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r)."
  echo "Metrics on: \`${ON_BIN#"$REPO_ROOT"/}\`; metrics off: \`${OFF_BIN#"$REPO_ROOT"/}\`" \
    "($("$ON_BIN" version 2>/dev/null | head -1 || echo "version unknown"))."
  if [[ "$INSTRUCTIONS" == 1 ]]; then
    echo
    echo "### Instructions per request"
    echo
    cat "$WORK/instructions.md"
  fi
  if [[ "$THROUGHPUT" == 1 ]]; then
    echo
    echo "### Throughput"
    echo
    echo "$ROUNDS interleaved rounds; each round runs \`tests/bench/run.sh\` once per build" \
      "(\`ROUNDS=1 DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS IDLE_CONNS=0\`," \
      "cutover and HAProxy, order alternating by round)."
    echo
    throughput_report
  fi
}

main "$@"; exit $?
