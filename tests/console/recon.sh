#!/bin/bash
# recon.sh - drive the real console in tmux on the Reconciliation screen:
# the bot claims a position the broker never held; the reconciler logs it
# as "missing"; the operator opens it, resolves it with a note, and sees the
# engine's answer. PostgreSQL must then hold the resolution (by the
# operator, with the note) and an audit record 'recon.resolve' with outcome
# ok. A second console with --readonly must not resolve anything.
#
# Needs BIN_TRADEOPS and TRADEOPS_TEST_CONFIG (tests/run.sh exports both:
# a config pointing at private PostgreSQL, Redis and simulator with demo
# accounts demo-1..demo-6 and the current OS user an admin), plus psql.
# Prints TAP lines ("ok N - what" / "not ok N - what"); exits 1 on failure.
# Every wait is bounded: when the reconciler or the engine's command path
# is missing, the checks fail with what the screen showed, they never hang.
set -u

: "${BIN_TRADEOPS:?BIN_TRADEOPS must name the tradeops binary}"
: "${TRADEOPS_TEST_CONFIG:?TRADEOPS_TEST_CONFIG must name a test config}"

START_TIMEOUT_S=${START_TIMEOUT_S:-30}  # first data from the simulator
RECON_TIMEOUT_S=${RECON_TIMEOUT_S:-30}  # two reconciliation passes (5 s apart) and then some
RESULT_TIMEOUT_S=${RESULT_TIMEOUT_S:-10} # the engine's answer to a command
STEP_TIMEOUT_S=${STEP_TIMEOUT_S:-5}     # a key's effect on the screen
ABSENT_S=2                              # how long "nothing happens" is watched
POLL_S=0.1
LINES_=40
COLS_=120

SOCK="tradeops-recon-test-$$"
TMP=$(mktemp -d)
. "$(dirname "$0")/lib.bash"

# Positions the broker never holds; short enough for the Position column.
POS_A="rt${$}a"
POS_B="rt${$}b"
ACCOUNT=demo-1
NOTE="checked with the desk $$"
ME=$(id -un)

SESSION=""

status_line() { capture | sed -n "$((LINES_ - 1))p"; }
hint_line() { capture | sed -n "${LINES_}p"; }

# The status line matches $1 and not $2, within $3 seconds.
wait_status() { # regex exclude-regex timeout_s
    local end line
    end=$(($(date +%s%N) + $3 * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        line=$(status_line)
        if echo "$line" | grep -Eq -- "$1" && ! echo "$line" | grep -Eq -- "$2"; then
            return 0
        fi
        sleep "$POLL_S"
    done
    return 1
}
status_lacks() { ! status_line | grep -Eq -- "$1"; }
hint_lacks() { ! hint_line | grep -Eq -- "$1"; }
hint_readonly() { hint_line | grep -q 'Enter detail' && hint_lacks resolve; }
# True when the regex stays absent for the whole period.
stays_absent() { # regex seconds
    ! wait_for "$1" "$2"
}

# The database of the config under test: [database] url = <conninfo>.
CONNINFO=$(awk -F' *= *' '/^\[/{sect=$0; next} sect=="[database]" && $1=="url" {sub(/^[^=]*= */, ""); print; exit}' "$TRADEOPS_TEST_CONFIG")
sql() { psql -X -q -tA -v ON_ERROR_STOP=1 "$CONNINFO" -c "$1"; }

cleanup() {
    tmx kill-server >/dev/null 2>&1
    [ -n "$CONNINFO" ] && sql "delete from bot_positions where account_id = '$ACCOUNT'
        and position_id in ('$POS_A', '$POS_B')" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

start() { # name extra-args...
    SESSION=$1
    shift
    local cmd="'$BIN_TRADEOPS' --config '$TRADEOPS_TEST_CONFIG' $*; echo \"__EXIT__ \$?\"; exec sleep 600"
    tmx new-session -d -s "$SESSION" -x "$COLS_" -y "$LINES_" "$cmd"
}
give_up() {
    tmx kill-session -t "$SESSION" >/dev/null 2>&1
    SESSION=""
    return 1
}

command -v tmux >/dev/null || { echo "not ok 1 - tmux is installed"; exit 1; }
command -v psql >/dev/null || { echo "not ok 1 - psql is installed"; exit 1; }
[ -n "$CONNINFO" ] || { echo "not ok 1 - the test config names a database"; exit 1; }

# ---- the bot claims two positions the broker does not hold ---------------
setup() {
    check "the bot's two phantom positions are written" sql "insert into bot_positions
        (account_id, position_id, symbol, side, volume) values
        ('$ACCOUNT', '$POS_A', 'EURUSD', 'BUY', 0.10),
        ('$ACCOUNT', '$POS_B', 'EURUSD', 'SELL', 0.20)"
}

# ---- an operator resolves one --------------------------------------------
resolve() {
    start rw
    check "rw: console shows demo-1" wait_for 'demo-1' "$START_TIMEOUT_S" || { give_up; return; }
    keys 3
    check "rw: 3 opens the Recon tab" wait_for '(open [0-9]+|has not finished a pass)' || { give_up; return; }
    keys /
    text "$POS_A"
    keys Enter
    check "rw: the filter is shown" wait_for "filter: $POS_A"
    if ! check "rw: the reconciler logs $POS_A as missing within ${RECON_TIMEOUT_S}s" \
        wait_for "$POS_A +EURUSD +missing" "$RECON_TIMEOUT_S"; then
        diag "the reconciler did not publish the row: is it running in the engine?"
        give_up
        return
    fi
    check "rw: the tab badge counts open rows" wait_for '3 Recon\([0-9]+\)'
    keys Enter
    check "rw: Enter opens the detail" wait_for 'Recon #[0-9]+ +demo-1 +position '"$POS_A" || { give_up; return; }
    ID=$(capture | sed -n 's/.*Recon #\([0-9][0-9]*\).*/\1/p' | head -n 1)
    check "rw: the detail shows the bot's side and no broker side" \
        wait_for 'Actual \(the broker\): none'
    keys r
    if ! check "rw: r asks for a note naming #$ID, the account, position and kind" \
        wait_for "resolve #$ID $ACCOUNT $POS_A missing .* note:"; then
        status_line | grep -q 'no engine' && diag "the console runs without the engine's command port (src/main.c passes NULL)"
        give_up
        return
    fi
    text "$NOTE"
    keys Enter
    # "resolve #ID sent" shows until the answer replaces it, which may be at once.
    if ! check "rw: the engine's answer shows on the status line" \
        wait_status "#$ID" 'sent; waiting' "$RESULT_TIMEOUT_S"; then
        give_up
        return
    fi
    check "rw: the answer is not a refusal" status_lacks 'refused|failed|not done'
    check "rw: recon_log has #$ID resolved by the operator with the note" \
        test "$(sql "select resolution || '|' || (resolved_by like '%$ME%')::text || '|' || note
                     from recon_log where id = $ID")" = "operator|true|$NOTE"
    check "rw: audit_log has recon.resolve of #$ID with outcome ok" \
        test "$(sql "select count(*) from audit_log where action = 'recon.resolve'
                     and outcome = 'ok' and os_user = '$ME'
                     and target ~ '#${ID}( |\$)'")" -ge 1
    keys Escape
    check "rw: Esc goes back to the list" wait_for 'showing [0-9]+ of'
    keys o
    check "rw: o shows resolved rows, #$ID among them as resolved by the operator" \
        wait_for "$POS_A .*resolved by" "$RECON_TIMEOUT_S"
    keys q
    check "rw: q quits with status 0" wait_for '^__EXIT__ 0$'
    tmx kill-session -t rw >/dev/null 2>&1
    SESSION=""
}

# ---- read-only: r does not exist -----------------------------------------
readonly_console() {
    start ro --readonly
    check "ro: console shows demo-1" wait_for 'demo-1' "$START_TIMEOUT_S" || { give_up; return; }
    keys 3
    keys /
    text "$POS_B"
    keys Enter
    if ! check "ro: $POS_B is listed as missing" wait_for "$POS_B +EURUSD +missing" "$RECON_TIMEOUT_S"; then
        give_up
        return
    fi
    check "ro: status line says READ-ONLY" wait_for 'READ-ONLY'
    check "ro: the hint line shows keys but no resolve" hint_readonly
    keys r
    check "ro: r opens no prompt" stays_absent 'resolve #' "$ABSENT_S"
    keys '?'
    check "ro: help opens" wait_for 'Help: Recon'
    check "ro: help does not list resolve" stays_absent 'Mark the selected row resolved' 1
    check "ro: $POS_B is still open in the database" \
        test "$(sql "select count(*) from recon_log where account_id = '$ACCOUNT'
                     and position_id = '$POS_B' and resolved_at is null")" -ge 1
    keys q q
    check "ro: q closes help, q quits with status 0" wait_for '^__EXIT__ 0$'
    tmx kill-session -t ro >/dev/null 2>&1
    SESSION=""
}

if setup; then
    resolve
    readonly_console
fi
echo "1..$n"
exit "$failed"
