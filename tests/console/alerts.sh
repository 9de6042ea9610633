#!/bin/bash
# alerts.sh - drive the real console in tmux on the Alerts screen, as an
# on-call engineer would: an account slides into drawdown at the simulator,
# its guard breaches and starts the auto-close countdown; the Alerts tab
# shows "AUTO-CLOSE IN Ns" ticking down; the operator presses x, types a
# reason and Enter. The guard must then be aborted (on screen and in
# PostgreSQL), nothing closed, and audit_log must hold a guard.abort row
# with the reason. A --readonly console must offer no abort at all.
#
# Self-contained: a database of its own on the suite's PostgreSQL, the
# suite's Redis, and a simulator of its own (so the slide and the abort
# touch no other test's account). The guard's countdown is set to 30 s so
# the ticks can be watched without a race. Needs BIN_TRADEOPS, BIN_SIM and
# TRADEOPS_TEST_RUN (tests/run.sh exports them), tmux, psql and curl.
# Prints TAP lines; exits 1 on failure. Every wait is bounded.
set -u

T=${BIN_TRADEOPS:?BIN_TRADEOPS must name the tradeops binary}
SIM=${BIN_SIM:?BIN_SIM must name the simulator}
RUN=${TRADEOPS_TEST_RUN:?TRADEOPS_TEST_RUN must name the suite run directory}

START_TIMEOUT_S=${START_TIMEOUT_S:-30}        # first data from the simulator
COUNTDOWN_TIMEOUT_S=${COUNTDOWN_TIMEOUT_S:-40} # slide (3 s), breach, countdown on screen
TICK_TIMEOUT_S=${TICK_TIMEOUT_S:-5}          # the number shown goes down
RESULT_TIMEOUT_S=${RESULT_TIMEOUT_S:-15}     # the engine's answer and the guard's new state
STEP_TIMEOUT_S=${STEP_TIMEOUT_S:-5}          # a key's effect on the screen
ABSENT_S=2                                   # how long "nothing happens" is watched
COUNTDOWN_S=30
POLL_S=0.1
LINES_=40
COLS_=160
ACCOUNT=demo-2
REASON="desk hedges by hand $$"
ME=$(id -un)

SOCK="tradeops-alerts-test-$$"
TMP=$(mktemp -d)
DB="alerts_console_$$"
BASE=$(cat "$RUN/pg.base")
PG="$BASE dbname=$DB"
SIMPID=""
SESSION=""
. "$(dirname "$0")/lib.bash"

status_line() { capture | sed -n "$((LINES_ - 1))p"; }
hint_line() { capture | sed -n "${LINES_}p"; }
stays_absent() { ! wait_for "$1" "$2"; }
# The seconds the banner shows, or nothing.
seconds_shown() { capture | sed -n 's/.*AUTO-CLOSE IN \([0-9][0-9]*\)s: '"$ACCOUNT"'.*/\1/p' | head -n 1; }
# Waits until the banner shows fewer seconds than $1.
wait_below() { # seconds timeout_s
    local end s
    end=$(($(date +%s%N) + $2 * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        s=$(seconds_shown)
        [ -n "$s" ] && [ "$s" -lt "$1" ] && return 0
        sleep "$POLL_S"
    done
    return 1
}

q() { psql -X -q -tA -v ON_ERROR_STOP=1 "$PG" -c "$1"; }

cleanup() {
    tmx kill-server >/dev/null 2>&1
    [ -n "$SIMPID" ] && kill "$SIMPID" 2>/dev/null
    wait 2>/dev/null
    psql -X -q "$BASE dbname=postgres" -c "drop database if exists $DB with (force)" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

command -v tmux >/dev/null || { echo "not ok 1 - tmux is installed"; exit 1; }
command -v psql >/dev/null || { echo "not ok 1 - psql is installed"; exit 1; }
command -v curl >/dev/null || { echo "not ok 1 - curl is installed"; exit 1; }

# ---- a database, a simulator and a config of this test's own -------------
setup() {
    psql -X -q "$BASE dbname=postgres" -c "create database $DB" >/dev/null || return 1
    "$T" --pg "$PG" migrate >/dev/null || return 1
    "$T" --pg "$PG" operator add "$ME" admin >/dev/null || return 1
    local a
    for a in demo-1 demo-2; do "$T" --pg "$PG" account add "$a" >/dev/null || return 1; done
    "$T" --pg "$PG" account set-guard "$ACCOUNT" --max-loss-pct 20 --mode trailing_intraday \
        --countdown "$COUNTDOWN_S" >"$TMP/set-guard.log" 2>&1 || { cat "$TMP/set-guard.log"; return 1; }
    echo alerts-token >"$TMP/token"
    "$SIM" --port 0 --port-file "$TMP/sim.port" --token-file "$TMP/token" --accounts 2 --seed 7 \
        --tick-ms 100 >"$TMP/sim.log" 2>&1 &
    SIMPID=$!
    local i
    for i in $(seq 100); do [ -s "$TMP/sim.port" ] && break; sleep 0.1; done
    [ -s "$TMP/sim.port" ] || { cat "$TMP/sim.log"; return 1; }
    URL="http://127.0.0.1:$(cat "$TMP/sim.port")"
    cat >"$TMP/config.ini" <<EOF
[database]
url = $PG
[redis]
url = unix:$RUN/redis.sock
[broker]
url = $URL
token_file = $TMP/token
poll_interval_ms = 250
[guard]
interval_ms = 250
watch_interval_ms = 300
[notify]
enabled = false
EOF
}
sim() { curl -s -o "$TMP/sim.reply" -w '%{http_code}' -H "auth-token: alerts-token" -X "$1" ${3:+-d "$3"} "$URL$2"; }

start() { # name extra-args...
    SESSION=$1
    shift
    local cmd="'$T' --config '$TMP/config.ini' $*; echo \"__EXIT__ \$?\"; exec sleep 600"
    tmx new-session -d -s "$SESSION" -x "$COLS_" -y "$LINES_" "$cmd"
}
give_up() {
    tmx kill-session -t "$SESSION" >/dev/null 2>&1
    SESSION=""
    return 1
}

# ---- the countdown ticks, the operator aborts it -------------------------
abort_countdown() {
    start rw
    check "rw: console shows $ACCOUNT" wait_for "$ACCOUNT" "$START_TIMEOUT_S" || { give_up; return; }
    keys 2
    check "rw: 2 opens the Alerts tab" wait_for '(all [0-9]+ guards? ok|Guards: |waiting for the first load|none has reported)' ||
        { give_up; return; }
    check "rw: the guards are loaded and ok before the slide" wait_for 'all [0-9]+ guards? ok' "$START_TIMEOUT_S"
    local code
    code=$(sim POST /_sim/drawdown "{\"account\":\"$ACCOUNT\",\"depth\":0.3,\"seconds\":3}")
    check "the simulator starts a drawdown slide of $ACCOUNT (HTTP $code)" test "$code" = 200 ||
        { diag "$(cat "$TMP/sim.reply")"; give_up; return; }
    if ! check "rw: the Alerts tab shows AUTO-CLOSE IN Ns for $ACCOUNT within ${COUNTDOWN_TIMEOUT_S}s" \
        wait_for "AUTO-CLOSE IN [0-9]+s: $ACCOUNT" "$COUNTDOWN_TIMEOUT_S"; then
        diag "guard_state: $(q "select state, equity, floor, why from guard_state where account_id = '$ACCOUNT'")"
        give_up
        return
    fi
    local first second
    first=$(seconds_shown)
    check "rw: the countdown shows a number of seconds within the guard's ${COUNTDOWN_S}" \
        test -n "$first" -a "${first:-0}" -le "$COUNTDOWN_S" -a "${first:-0}" -gt 0
    check "rw: the countdown ticks down (from ${first}s)" wait_below "${first:-0}" "$TICK_TIMEOUT_S"
    second=$(seconds_shown)
    diag "countdown shown: ${first}s, then ${second}s"
    check "rw: the tab badge counts open alerts" wait_for '2 Alerts\([0-9]+\)'
    check "rw: a critical guard.countdown alert is listed" wait_for 'CRIT +guard\.countdown +'"$ACCOUNT"
    keys x
    if ! check "rw: x asks for a reason naming $ACCOUNT" wait_for "Abort auto-close of $ACCOUNT .* reason:"; then
        status_line | grep -q 'no engine' && diag "the console runs without the engine's command port"
        give_up
        return
    fi
    text "$REASON"
    keys Enter
    check "rw: the engine's answer shows on the status line" \
        bash -c "for i in \$(seq $((RESULT_TIMEOUT_S * 10))); do
            l=\$(tmux -L '$SOCK' capture-pane -p -t rw | sed -n '$((LINES_ - 1))p')
            echo \"\$l\" | grep -q 'abort' && ! echo \"\$l\" | grep -q 'sent; waiting' && exit 0
            sleep 0.1; done; exit 1"
    check "rw: the answer is not a refusal" bash -c "! tmux -L '$SOCK' capture-pane -p -t rw |
        sed -n '$((LINES_ - 1))p' | grep -Eq 'refused|failed|not done'"
    check "rw: the screen says the guard is aborted" wait_for "$ACCOUNT +aborted" "$RESULT_TIMEOUT_S"
    check "rw: the countdown is gone" stays_absent "AUTO-CLOSE IN [0-9]+s: $ACCOUNT" "$ABSENT_S"
    check "rw: the screen shows who aborted and why" wait_for "aborted by .*$ME.*: $REASON"
    check "guard_state of $ACCOUNT is aborted with the reason" \
        test "$(q "select state || '|' || coalesce(abort_reason, '') from guard_state
                   where account_id = '$ACCOUNT'")" = "aborted|$REASON"
    check "audit_log has guard.abort of $ACCOUNT by $ME with the reason, outcome ok" \
        test "$(q "select count(*) from audit_log where action = 'guard.abort' and outcome = 'ok'
                   and os_user = '$ME' and target ~ '$ACCOUNT' and reason = '$REASON'")" -ge 1
    check "nothing was closed: no close is audited for $ACCOUNT" \
        test "$(q "select count(*) from audit_log where action like 'guard.close%'
                   and target ~ '$ACCOUNT'")" -eq 0
    keys q
    check "rw: q quits with status 0" wait_for '^__EXIT__ 0$'
    tmx kill-session -t rw >/dev/null 2>&1
    SESSION=""
}

# ---- read-only: no abort, no acknowledge, no close -----------------------
readonly_console() {
    start ro --readonly
    check "ro: console shows $ACCOUNT" wait_for "$ACCOUNT" "$START_TIMEOUT_S" || { give_up; return; }
    keys 2
    check "ro: the Alerts tab lists a guard alert of $ACCOUNT" \
        wait_for 'guard\.[a-z_]+ +'"$ACCOUNT" "$RESULT_TIMEOUT_S" || { give_up; return; }
    check "ro: status line says READ-ONLY" wait_for 'READ-ONLY'
    check "ro: the hint line has history but no ack, abort or close" \
        bash -c "l=\$(tmux -L '$SOCK' capture-pane -p -t ro | sed -n '${LINES_}p');
                 echo \"\$l\" | grep -q 'h history' && ! echo \"\$l\" | grep -Eq 'ack|abort|close all'"
    keys x
    check "ro: x opens no prompt" stays_absent 'Abort auto-close' "$ABSENT_S"
    keys C
    check "ro: C opens no prompt" stays_absent 'Type demo-' "$ABSENT_S"
    keys '?'
    check "ro: help opens" wait_for 'Help: Alerts'
    check "ro: help lists no dangerous action" stays_absent 'Acknowledge the selected|Abort the auto-close|Close every position' 1
    keys q q
    check "ro: q closes help, q quits with status 0" wait_for '^__EXIT__ 0$'
    tmx kill-session -t ro >/dev/null 2>&1
    SESSION=""
}

if check "a database, a simulator and a 30 s countdown for $ACCOUNT are set up" setup; then
    abort_countdown
    readonly_console
fi
echo "1..$n"
exit "$failed"
