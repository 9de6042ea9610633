#!/bin/bash
# run.sh - the whole test suite against private servers; called by `make test`.
#
# Starts a private PostgreSQL, Redis and simulator under build/test-run (a
# fresh directory each run), runs the Criterion suite and every shell test
# (tests/cli/*.sh, tests/console/*.sh, which print TAP lines), stops the
# servers, and ends with the line "N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
# TEST_RUN_DIR keeps a second run's servers apart; TEST_FILTER narrows the
# Criterion tests (its --filter pattern) and TEST_SHELL the shell tests (a glob).
RUN=$(abs_dir() { case "$1" in /*) echo "$1" ;; *) echo "$HERE/$1" ;; esac; }; abs_dir "${TEST_RUN_DIR:-build/test-run}")
LOGS="$RUN/logs"

abs() { case "$1" in /*) echo "$1" ;; *) echo "$HERE/$1" ;; esac; }
export BIN_TRADEOPS=$(abs "${BIN_TRADEOPS:-tradeops}")
export BIN_SIM=$(abs "${BIN_SIM:-tradeops-sim}")
BIN_TESTS=$(abs "${BIN_TESTS:-build/rel/tradeops-tests}")

cleanup() { data/dev/services.sh down "$RUN" >/dev/null 2>&1 || true; }
trap cleanup EXIT

[ -d "$RUN" ] && data/dev/services.sh down "$RUN" >/dev/null 2>&1
rm -rf "$RUN"
mkdir -p "$LOGS"
if ! data/dev/services.sh up "$RUN" 2>"$LOGS/services.log" ||
   ! data/dev/services.sh demo "$RUN" "$BIN_TRADEOPS" >>"$LOGS/services.log" 2>&1; then
    cat "$LOGS/services.log" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

# Sanitized builds: leaks inside Criterion itself are not ours (tests/lsan.supp).
export LSAN_OPTIONS="suppressions=$HERE/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export TRADEOPS_TEST_PG=$(cat "$RUN/pg.base")
export TRADEOPS_TEST_REDIS="unix:$RUN/redis.sock"
export TRADEOPS_TEST_CONFIG="$RUN/config.ini"
export TRADEOPS_TEST_RUN="$RUN"
# Tests never read the developer's own configuration.
export XDG_CONFIG_HOME="$RUN/xdg-config" XDG_STATE_HOME="$RUN/xdg-state"
unset NO_COLOR TRADEOPS_PG TRADEOPS_REDIS TRADEOPS_BROKER_URL TRADEOPS_BROKER_TOKEN_FILE

passed=0
failed=0
skipped=0
# The names of what failed, repeated just above the last line, so a log's
# tail says which test to look at.
failures=()

# Criterion: one binary, every tests/test_*.c.
echo "== unit and integration tests (Criterion)"
"$BIN_TESTS" --jobs 2 --short-filename ${TEST_FILTER:+--filter "$TEST_FILTER"} 2>&1 | tee "$LOGS/criterion.log" | grep -v '^\[----\]' || true
crit_rc=${PIPESTATUS[0]}
synth=$(grep -a 'Synthesis:' "$LOGS/criterion.log" | tail -n 1)
if [ -n "$synth" ]; then
    cp=$(echo "$synth" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    cf=$(echo "$synth" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    cc=$(echo "$synth" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    passed=$((passed + ${cp:-0}))
    # Criterion counts a crash among the failing too.
    failed=$((failed + ${cf:-0}))
fi
while IFS= read -r line; do
    failures+=("$line")
done < <(grep -a '^\[FAIL\] ' "$LOGS/criterion.log" | sed 's/^\[FAIL\] //')
if [ "$crit_rc" -ne 0 ] && [ "${cf:-0}" -eq 0 ] && [ "${cc:-0}" -eq 0 ]; then
    echo "criterion exited with $crit_rc"
    failures+=("criterion exited with $crit_rc")
    failed=$((failed + 1))
fi

# Shell tests print TAP lines ("ok N - what" / "not ok N - what").
for t in ${TEST_SHELL:-tests/cli/*.sh tests/console/*.sh}; do
    [ -f "$t" ] || continue
    echo "== $t"
    out="$LOGS/$(basename "$t" .sh).log"
    bash "$t" >"$out" 2>&1
    rc=$?
    cat "$out"
    p=$(grep '^ok ' "$out" | grep -vc '# SKIP')
    s=$(grep '^ok ' "$out" | grep -c '# SKIP')
    f=$(grep -c '^not ok ' "$out")
    passed=$((passed + p))
    skipped=$((skipped + s))
    failed=$((failed + f))
    while IFS= read -r line; do
        failures+=("$t: $line")
    done < <(grep '^not ok ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$t exited with $rc"
        failures+=("$t exited with $rc")
        failed=$((failed + 1))
    fi
done

if [ "${#failures[@]}" -gt 0 ]; then
    echo "== what failed"
    printf '  %s\n' "${failures[@]}"
    # Criterion's assertion messages, which the run above hides.
    grep -a '^\[----\]' "$LOGS/criterion.log" | grep -av '^\[----\] *$' | head -n 60 | sed 's/^/  /'
fi

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
