#!/usr/bin/env bash
# cutover set-up: installs the Debian packages that are missing (and only those), builds,
# then runs what the subcommand asks for. Idempotent: a second run installs nothing and
# rebuilds only what changed. Works from any directory.
#
#   deploy/setup.sh build        build deps + release build in build/
#   deploy/setup.sh demo [ARGS]  build, then exec build/cutover demo [ARGS]
#   deploy/setup.sh test         build+test deps; release (build/) and ASan+UBSan
#                                (build-asan/) builds, unit + integration tests in each; a
#                                60 s soak of the release build (SOAK_SECONDS); a TSan build
#                                (build-tsan/) of the binary and the threaded unit tests,
#                                running those and the multiworker integration tests
#                                (each sanitizer build runs at nice 10 beside the integration
#                                tests before it); each fuzz target for FUZZ_SECONDS
#                                (build-fuzz/, clang, built beside the TSan tests); stage
#                                times, then the last line:
#                                "N passed, N failed[, N skipped]"
#   deploy/setup.sh bench-deps   build deps + wrk, haproxy, nginx-light, valgrind; release build
#   deploy/setup.sh fuzz [SECS]  clang + libFuzzer; fuzz build (build-fuzz/); each fuzz target
#                                for SECS seconds (default 600), two at a time, on a corpus
#                                kept in build-fuzz/fuzz-corpus/ (tests/fuzz/README.md)
#
# Environment: BUILD_DIR (default build), ASAN_BUILD_DIR (default build-asan),
# TSAN_BUILD_DIR (default build-tsan), FUZZ_BUILD_DIR (default build-fuzz), FUZZ_SECONDS (per
# fuzz target in `test`, default 30), JOBS (default: nproc), PYTEST_TIMEOUT (seconds per
# pytest run, default 1200), SOAK_SECONDS (default 60).
set -euo pipefail

readonly BUILD_DEPS=(build-essential g++ meson ninja-build pkg-config libuv1-dev node-llhttp
  libssl-dev prometheus-cpp-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev clang-format)
# prometheus: tests/integration/test_prometheus.py scrapes cutover with it (and promtool).
# chromium: tests/integration/test_dashboard.py loads the dashboard in it (headless).
readonly TEST_DEPS=(python3 python3-pytest curl openssl prometheus chromium)
readonly BENCH_DEPS=(wrk haproxy nginx-light valgrind)
# libFuzzer ships in clang's runtime package (tests/fuzz/).
readonly FUZZ_DEPS=(clang libclang-rt-14-dev)

# A pyenv or venv python may shadow PATH; the tests use Debian's python3-pytest.
readonly PYTHON=/usr/bin/python3

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
cd "$REPO_ROOT"

BUILD_DIR="${BUILD_DIR:-build}"
ASAN_BUILD_DIR="${ASAN_BUILD_DIR:-build-asan}"
TSAN_BUILD_DIR="${TSAN_BUILD_DIR:-build-tsan}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
PYTEST_TIMEOUT="${PYTEST_TIMEOUT:-1200}"
FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

# usage EXIT_CODE: the header comment above, on stdout for --help, on stderr otherwise.
usage() {
  local text
  text="$(sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//')"
  if (($1 == 0)); then echo "$text"; else echo "$text" >&2; fi
  exit "$1"
}

# --- packages ---------------------------------------------------------------------------

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# Installs the given packages that are not installed yet; runs apt-get update only then.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    log "packages: all ${#} present"
    return 0
  fi
  log "packages: installing ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "not root and no sudo; install as root: apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q || die "apt-get update failed"
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
  for pkg in "${missing[@]}"; do
    is_installed "$pkg" || die "package $pkg still not installed after apt-get install"
  done
}

# --- build ------------------------------------------------------------------------------

# Prints "name=value" for each of the given build options whose current value in DIR
# differs from the wanted one (arguments are name=value pairs).
differing_options() {
  local dir="$1"; shift
  meson introspect --buildoptions "$dir" | "$PYTHON" -c '
import json, sys
current = {o["name"]: o["value"] for o in json.load(sys.stdin)}
for arg in sys.argv[1:]:
    name, want = arg.split("=", 1)
    have = current.get(name)
    if isinstance(have, list):
        have = ",".join(have)
    elif isinstance(have, bool):
        have = "true" if have else "false"
    if str(have) != want:
        print(arg)
' "$@"
}

# configure_build_dir DIR name=value...: sets the build directory up with these options
# (or changes only the options that differ, so a configured tree is not disturbed).
configure_build_dir() {
  local dir="$1"; shift
  local opt args=()
  if [[ -f "$dir/build.ninja" && -f "$dir/meson-private/coredata.dat" ]]; then
    local diff
    diff="$(differing_options "$dir" "$@")" || die "cannot read the build options of $dir"
    if [[ -n "$diff" ]]; then
      while IFS= read -r opt; do args+=("-D$opt"); done <<<"$diff"
      log "meson: reconfiguring $dir (${args[*]})"
      meson configure "$dir" "${args[@]}" >/dev/null
    fi
  else
    for opt in "$@"; do args+=("-D$opt"); done
    log "meson: setting up $dir (${args[*]})"
    # --wipe only when a half-made directory is in the way.
    if [[ -d "$dir" && -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
      meson setup --wipe "$dir" "${args[@]}" >/dev/null
    else
      meson setup "$dir" "${args[@]}" >/dev/null
    fi
  fi
}

# configure_and_build DIR name=value...: configure_build_dir, then compiles all of it.
configure_and_build() {
  configure_build_dir "$@"
  log "ninja: building $1 with $JOBS jobs"
  ninja -C "$1" -j "$JOBS" || die "build failed in $1"
}

build_release() {
  configure_and_build "$BUILD_DIR" buildtype=release b_sanitize=none
  [[ -x "$BUILD_DIR/cutover" ]] || die "$BUILD_DIR/cutover was not built"
}

# -O0 -g1: line tables are all a report needs, and the nlohmann/toml++ templates make
# optimising expensive: -O0 compiles 2.6-3.4x faster than -O1 under ASan (config_loader.cc
# 6 s vs 21 s), which is what keeps CI inside its budget; the tests spend their time waiting
# on sockets, not in the proxy's CPU. The whole CI run measured 1276 s with -O1.
build_asan() {
  configure_and_build "$ASAN_BUILD_DIR" optimization=0 debug=false cpp_args=-g1 c_args=-g1 \
    b_sanitize=address,undefined b_lundef=false
  [[ -x "$ASAN_BUILD_DIR/cutover" ]] || die "$ASAN_BUILD_DIR/cutover was not built"
}

# suite_targets DIR SUITE: the ninja targets (paths relative to DIR) of the tests in SUITE.
suite_targets() {
  meson introspect --tests "$1" | "$PYTHON" -c '
import json, os, sys
build, suite = os.path.realpath(sys.argv[1]), sys.argv[2]
for test in json.load(sys.stdin):
    if suite in test["suite"] or "cutover:" + suite in test["suite"]:
        print(os.path.relpath(os.path.realpath(test["cmd"][0]), build))
' "$1" "$2"
}

# ThreadSanitizer (docs/robustness.md, "Thread sanitizer"): the binary and only the unit tests
# whose code runs on several threads (meson suite "threads"); the other unit tests exercise
# one thread and run under ASan+UBSan. -O1 -g1: TSan slows -O0 code far more than ASan does.
build_tsan() {
  configure_build_dir "$TSAN_BUILD_DIR" optimization=1 debug=false cpp_args=-g1 c_args=-g1 \
    b_sanitize=thread b_lundef=false
  local targets=()
  mapfile -t targets < <(suite_targets "$TSAN_BUILD_DIR" threads)
  ((${#targets[@]} > 0)) || die "no test in the meson suite 'threads'"
  log "ninja: building cutover and ${#targets[@]} threaded unit tests in $TSAN_BUILD_DIR"
  ninja -C "$TSAN_BUILD_DIR" -j "$JOBS" cutover "${targets[@]}" \
    || die "build failed in $TSAN_BUILD_DIR"
  [[ -x "$TSAN_BUILD_DIR/cutover" ]] || die "$TSAN_BUILD_DIR/cutover was not built"
}

# --- fuzzing ----------------------------------------------------------------------------

# tests/fuzz/: NAME is fuzz_NAME's binary, corpus/NAME its seeds, and its dictionary.
readonly FUZZ_TARGETS=(request response config admin)
fuzz_dictionary() { if [[ "$1" == config ]]; then echo tests/fuzz/toml.dict; else echo tests/fuzz/http.dict; fi; }
# Inputs may grow up to this: past the admin API's 16 KiB head limit and the largest response
# seeds, 8 KiB elsewhere (past the request limits the request target sets).
fuzz_max_len() { case "$1" in admin | response) echo 17000 ;; *) echo 8192 ;; esac; }

# Only the fuzz targets and the libraries they link, instrumented (-Dfuzz=true), with clang.
# -O1 -g1: line tables are all a crash report needs, and the build stays
# short enough for CI.
build_fuzz() {
  CC=clang CXX=clang++ configure_and_build "$FUZZ_BUILD_DIR" fuzz=true optimization=1 \
    debug=false cpp_args=-g1 c_args=-g1 b_sanitize=address,undefined b_lundef=false
  local name
  for name in "${FUZZ_TARGETS[@]}"; do
    [[ -x "$FUZZ_BUILD_DIR/tests/fuzz/fuzz_$name" ]] || die "$FUZZ_BUILD_DIR/tests/fuzz/fuzz_$name was not built"
  done
}

# run_fuzz_target NAME SECONDS CORPUS: fuzzes CORPUS (a directory outside the repository; the
# seeds are read from tests/fuzz/corpus/NAME, never written) for SECONDS. Crashing inputs go to
# $FUZZ_BUILD_DIR/fuzz-artifacts/NAME/. Returns non-zero when the target found a problem.
run_fuzz_target() {
  local name="$1" seconds="$2" corpus="$3"
  local artifacts="$FUZZ_BUILD_DIR/fuzz-artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  # The admin target fsyncs a state file and an audit log per change: tmpfs makes that free.
  # A directory of its own, removed afterwards even when the target died.
  local base=/tmp tmp rc=0
  [[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
  tmp="$(mktemp -d "$base/cutover-fuzz-run.XXXXXX")"
  TMPDIR="$tmp" ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$FUZZ_BUILD_DIR/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len="$(fuzz_max_len "$name")" -print_final_stats=1 \
    -dict="$(fuzz_dictionary "$name")" \
    -artifact_prefix="$artifacts/" "$corpus" "tests/fuzz/corpus/$name" \
    >"$FUZZ_BUILD_DIR/fuzz-$name.log" 2>&1 || rc=$?
  rm -rf "$tmp"
  return "$rc"
}

# fuzz_report NAME RC: one line of figures from the run's log, the crashing inputs if any;
# returns RC's verdict.
fuzz_report() {
  local name="$1" rc="$2"
  local log="$FUZZ_BUILD_DIR/fuzz-$name.log" done_line execs rate
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 | tr '\t' ' ' || true)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  log "fuzz_$name: ${execs:-?} execs, ${rate:-?}/s; ${done_line:-no final line}"
  local crashes
  crashes="$(find "$FUZZ_BUILD_DIR/fuzz-artifacts/$name" -type f -newer "$log.start" 2>/dev/null || true)"
  if ((rc != 0)) || [[ -n "$crashes" ]]; then
    log "fuzz_$name FAILED (exit $rc); its log: $log"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5 >&2 || true
    [[ -n "$crashes" ]] && printf 'crashing input: %s\n' $crashes >&2
    return 1
  fi
}

# run_fuzz_targets SECONDS CORPUS_ROOT: every target for SECONDS, two at a time (CI has two
# cores); each counts as one test in the summary.
run_fuzz_targets() {
  local seconds="$1" corpus_root="$2" i j name
  local pids=() names=()
  for ((i = 0; i < ${#FUZZ_TARGETS[@]}; i += 2)); do
    pids=() names=("${FUZZ_TARGETS[@]:i:2}")
    for name in "${names[@]}"; do
      touch "$FUZZ_BUILD_DIR/fuzz-$name.log.start"
      log "fuzz_$name: ${seconds}s"
      run_fuzz_target "$name" "$seconds" "$corpus_root/$name" &
      pids+=($!)
    done
    for ((j = 0; j < ${#names[@]}; ++j)); do
      local rc=0
      wait "${pids[j]}" || rc=$?
      if fuzz_report "${names[j]}" "$rc"; then
        add_counts "fuzz_${names[j]}" 1 0 0
      else
        add_counts "fuzz_${names[j]}" 0 1 0
      fi
    done
  done
}

# CI's bounded run: a fresh scratch copy of the corpus each time, so CI never depends on
# (or grows) what an earlier run found.
run_fuzz_smoke() {
  local scratch="$FUZZ_BUILD_DIR/fuzz-smoke"
  rm -rf "$scratch"
  run_fuzz_targets "$FUZZ_SECONDS" "$scratch"
}

cmd_fuzz() {
  local seconds="${1:-600}"
  [[ "$seconds" =~ ^[0-9]+$ ]] || die "fuzz: SECONDS must be a number, got \"$seconds\""
  ensure_packages "${BUILD_DEPS[@]}" "${FUZZ_DEPS[@]}"
  build_fuzz
  # The long run's corpus is kept: each run starts where the last one ended.
  run_fuzz_targets "$seconds" "$FUZZ_BUILD_DIR/fuzz-corpus"
  echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
  ((TOTAL_FAILED == 0)) || exit 1
}

# --- tests ------------------------------------------------------------------------------

TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0

# add_counts LABEL PASSED FAILED SKIPPED
add_counts() {
  log "$1: $2 passed, $3 failed, $4 skipped"
  TOTAL_PASSED=$((TOTAL_PASSED + $2))
  TOTAL_FAILED=$((TOTAL_FAILED + $3))
  TOTAL_SKIPPED=$((TOTAL_SKIPPED + $4))
}

# Unit tests through meson; counts come from meson's own test log (one JSON line per test).
# run_unit_tests DIR LABEL [--suite NAME] [NAME=VALUE...]: the suite is "unit" unless given;
# the extra arguments go into the environment. Nothing is rebuilt (the stage's build step
# built what the suite needs, and a TSan tree builds no more than that).
run_unit_tests() {
  local dir="$1" label="$2" suite=unit rc=0; shift 2
  if [[ "${1:-}" == --suite ]]; then
    suite="$2"
    shift 2
  fi
  rm -f "$dir/meson-logs/testlog.json"
  log "$label: meson test --suite $suite"
  env "$@" meson test -C "$dir" --suite "$suite" --no-rebuild --print-errorlogs \
    --num-processes "$JOBS" || rc=$?
  local counts
  counts="$("$PYTHON" - "$dir/meson-logs/testlog.json" <<'EOF'
import json, os, sys
passed = failed = skipped = 0
path = sys.argv[1]
if os.path.exists(path):
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line:
            continue
        result = json.loads(line).get("result", "")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, ...
            failed += 1
print(passed, failed, skipped)
EOF
)"
  local p f s
  read -r p f s <<<"$counts"
  # A non-zero exit with no failure in the log (e.g. a test that could not start) still fails.
  if ((rc != 0 && f == 0)); then
    log "$label: meson test exited $rc without a failed test in its log; counting 1 failure"
    f=1
  fi
  add_counts "$label unit" "$p" "$f" "$s"
}

# Integration tests through pytest; counts come from its junit xml.
# run_integration_tests DIR LABEL [NAME=VALUE...]
run_integration_tests() {
  local dir="$1" label="$2"; shift 2
  if [[ ! -d tests/integration ]]; then
    log "$label: no tests/integration directory yet"
    add_counts "$label integration" 0 0 0
    return 0
  fi
  local junit="$dir/meson-logs/pytest-junit.xml" rc=0
  rm -f "$junit"
  local bin
  bin="$(cd "$dir" && pwd)/cutover"
  log "$label: pytest tests/integration (CUTOVER_BIN=$bin)"
  # Bounded, so that a hung test cannot eat CI's whole budget.
  timeout -k 30 "$PYTEST_TIMEOUT" env "$@" CUTOVER_BIN="$bin" \
    "$PYTHON" -m pytest -q tests/integration --junitxml="$junit" || rc=$?
  ((rc == 124 || rc == 137)) && log "$label: pytest killed after ${PYTEST_TIMEOUT}s"
  local counts
  counts="$("$PYTHON" - "$junit" <<'EOF'
import os, sys
import xml.etree.ElementTree as ET
path = sys.argv[1]
if not os.path.exists(path):
    print("missing")
    sys.exit(0)
root = ET.parse(path).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = failed = skipped = 0
for s in suites:
    tests += int(s.get("tests", 0))
    failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
    skipped += int(s.get("skipped", 0))
print(tests - failed - skipped, failed, skipped)
EOF
)"
  local p f s
  if [[ "$counts" == missing ]]; then
    log "$label: pytest wrote no report (exit $rc); counting 1 failure"
    p=0 f=1 s=0
  else
    read -r p f s <<<"$counts"
  fi
  case "$rc" in
    0 | 1) ;;
    5) log "$label: pytest collected no tests" ;;
    *) if ((f == 0)); then
         log "$label: pytest exited $rc (interrupted, usage or internal error); counting 1 failure"
         f=1
       fi ;;
  esac
  add_counts "$label integration" "$p" "$f" "$s"
}

# The threaded unit tests and the integration tests marked multiworker (several workers, the
# admin thread and the health checker sharing state under load), under TSan. The first report
# stops the process (a unit test fails; the proxy exits 66 and its test fails with the report
# in the proxy's stderr). tests/tsan.supp lists third-party false positives only, each with
# its reason.
run_tsan_tests() {
  local tsan_env=("TSAN_OPTIONS=halt_on_error=1:second_deadlock_stop=1:suppressions=$REPO_ROOT/tests/tsan.supp")
  run_unit_tests "$TSAN_BUILD_DIR" tsan --suite threads "${tsan_env[@]}"
  run_integration_tests "$TSAN_BUILD_DIR" tsan "${tsan_env[@]}" "PYTEST_ADDOPTS=-m multiworker"
}

# The short soak (tests/soak/soak.py; the 10-minute run is documented in docs/robustness.md):
# the release binary under a steady load with weight changes; RSS and fds must stay flat.
# Counted as one test.
run_soak() {
  local seconds="${SOAK_SECONDS:-60}" rc=0
  log "soak: tests/soak/soak.py --seconds $seconds (CUTOVER_BIN=$BUILD_DIR/cutover)"
  timeout -k 30 $((seconds + 120)) env CUTOVER_BIN="$(cd "$BUILD_DIR" && pwd)/cutover" \
    "$PYTHON" tests/soak/soak.py --seconds "$seconds" || rc=$?
  if ((rc == 0)); then add_counts soak 1 0 0; else add_counts soak 0 1 0; fi
}

# A build beside the tests: the integration tests mostly wait on sockets and timers (the
# release pass keeps about a third of the two cores busy), so the next sanitizer build runs
# in the background at nice 10 while they do; whenever a test wants the CPU it gets it first.
# start_build_beside NAME BUILD_FUNCTION: starts `setup.sh build-stage BUILD_FUNCTION` in its
# own session (so an exit can stop it and its compilers by process group), output to a log.
declare -A BESIDE_PIDS=() BESIDE_LOGS=()
start_build_beside() {
  local name="$1" fn="$2"
  BESIDE_LOGS[$name]="$(mktemp "${TMPDIR:-/tmp}/cutover-${name// /-}.XXXXXX.log")"
  setsid nice -n 10 bash "${BASH_SOURCE[0]}" build-stage "$fn" >"${BESIDE_LOGS[$name]}" 2>&1 &
  BESIDE_PIDS[$name]=$!
  log "$name: started beside the tests (pid ${BESIDE_PIDS[$name]}, log ${BESIDE_LOGS[$name]})"
}

# wait_build_beside NAME: waits for it, shows its log, dies if it failed.
wait_build_beside() {
  local name="$1" rc=0
  wait "${BESIDE_PIDS[$name]}" || rc=$?
  unset "BESIDE_PIDS[$name]"
  cat "${BESIDE_LOGS[$name]}" >&2
  rm -f "${BESIDE_LOGS[$name]}"
  ((rc == 0)) || die "$name failed (exit $rc)"
}

stop_builds_beside() {
  local pid
  for pid in "${BESIDE_PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}

# timed LABEL COMMAND...: runs the command and logs how long it took; the times are listed
# again at the end of `test` (STAGE_TIMES).
STAGE_TIMES=()
timed() {
  local label="$1" start
  shift
  start="$(date +%s)"
  "$@"
  STAGE_TIMES+=("$label $(($(date +%s) - start)) s")
  log "time: ${STAGE_TIMES[-1]}"
}

cmd_test() {
  ensure_packages "${BUILD_DEPS[@]}" "${TEST_DEPS[@]}" "${FUZZ_DEPS[@]}"
  [[ -x "$PYTHON" ]] || die "$PYTHON not found"

  local all_start
  all_start="$(date +%s)"
  trap stop_builds_beside EXIT
  timed "release build" build_release
  timed "release unit" run_unit_tests "$BUILD_DIR" release
  start_build_beside "asan build" build_asan
  timed "release integration" run_integration_tests "$BUILD_DIR" release
  timed "soak" run_soak
  timed "asan build (rest)" wait_build_beside "asan build"

  local san_env=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
                 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
  timed "asan unit" run_unit_tests "$ASAN_BUILD_DIR" asan "${san_env[@]}"
  # The ASan integration pass leaves most of both cores idle: both remaining builds use them.
  start_build_beside "tsan build" build_tsan
  start_build_beside "fuzz build" build_fuzz
  timed "asan integration" run_integration_tests "$ASAN_BUILD_DIR" asan "${san_env[@]}"
  timed "tsan build (rest)" wait_build_beside "tsan build"
  timed "tsan tests" run_tsan_tests
  timed "fuzz build (rest)" wait_build_beside "fuzz build"
  timed "fuzz" run_fuzz_smoke

  log "stage times: $(IFS=,; echo "${STAGE_TIMES[*]}" | sed 's/,/, /g'); total $(($(date +%s) - all_start)) s"
  local summary="$TOTAL_PASSED passed, $TOTAL_FAILED failed"
  ((TOTAL_SKIPPED > 0)) && summary+=", $TOTAL_SKIPPED skipped"
  echo "$summary"
  if ((TOTAL_PASSED + TOTAL_FAILED == 0)); then
    log "no test ran"
    exit 1
  fi
  ((TOTAL_FAILED == 0)) || exit 1
}

# --- main -------------------------------------------------------------------------------

main() {
  local cmd="${1:-}"
  (($# > 0)) && shift
  case "$cmd" in
    build)
      ensure_packages "${BUILD_DEPS[@]}"
      build_release
      log "built $BUILD_DIR/cutover"
      ;;
    demo)
      ensure_packages "${BUILD_DEPS[@]}"
      build_release
      log "starting $BUILD_DIR/cutover demo $* (Ctrl-C stops)"
      exec "$BUILD_DIR/cutover" demo "$@"
      ;;
    test)
      cmd_test
      ;;
    build-stage)  # internal: one build of `test`, run beside the tests (start_build_beside)
      case "${1:-}" in
        build_asan | build_tsan | build_fuzz) "$1" ;;
        *) die "build-stage: unknown build '${1:-}'" ;;
      esac
      ;;
    fuzz)
      cmd_fuzz "$@"
      ;;
    bench-deps)
      ensure_packages "${BUILD_DEPS[@]}" "${TEST_DEPS[@]}" "${BENCH_DEPS[@]}"
      build_release
      log "ready: bash tests/bench/run.sh"
      ;;
    -h | --help | help) usage 0 ;;
    "") printf 'setup.sh: a subcommand is needed\n\n' >&2; usage 2 ;;
    *) printf 'setup.sh: unknown subcommand "%s"\n\n' "$cmd" >&2; usage 2 ;;
  esac
}

main "$@"
