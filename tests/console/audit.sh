#!/bin/bash
# audit.sh - drive the real console in tmux on the Audit screen: a
# reconciliation row is resolved with the command line (and resolved again,
# which the engine turns down and audits as failed); the Audit tab must
# show both records, newest first, with the note as the reason; `/` narrows
# to them, `o` to one outcome at a time, Enter shows a record's every field.
#
# Self-contained: a database of its own on the suite's PostgreSQL, the
# suite's Redis, and a simulator of its own. Needs BIN_TRADEOPS, BIN_SIM
# and TRADEOPS_TEST_RUN (tests/run.sh exports them), tmux and psql.
# Prints TAP lines; exits 1 on failure. Every wait is bounded.
set -u

T=${BIN_TRADEOPS:?BIN_TRADEOPS must name the tradeops binary}
SIM=${BIN_SIM:?BIN_SIM must name the simulator}
RUN=${TRADEOPS_TEST_RUN:?TRADEOPS_TEST_RUN must name the suite run directory}

START_TIMEOUT_S=${START_TIMEOUT_S:-30} # the console's first data
LOAD_TIMEOUT_S=${LOAD_TIMEOUT_S:-15}   # the watcher's first load of the audit log
STEP_TIMEOUT_S=${STEP_TIMEOUT_S:-5}    # a key's effect on the screen
POLL_S=0.1
LINES_=30
COLS_=160
MARK="aud$$x"                          # unique to this run, in the notes
NOTE="checked $MARK with the desk"
ME=$(id -un)

SOCK="tradeops-audit-test-$$"
TMP=$(mktemp -d)
DB="audit_console_$$"
BASE=$(cat "$RUN/pg.base")
PG="$BASE dbname=$DB"
SIMPID=""
SESSION=""
. "$(dirname "$0")/lib.bash"

# The line numbers of the rows matching a regex, in screen order.
rows_of() { capture | grep -nE -- "$1" | cut -d: -f1 | tr '\n' ' '; }
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

setup() {
    psql -X -q "$BASE dbname=postgres" -c "create database $DB" >/dev/null || return 1
    "$T" --pg "$PG" migrate >/dev/null || return 1
    "$T" --pg "$PG" operator add "$ME" admin >/dev/null || return 1
    "$T" --pg "$PG" account add demo-1 >/dev/null || return 1
    echo audit-token >"$TMP/token"
    "$SIM" --port 0 --port-file "$TMP/sim.port" --token-file "$TMP/token" --accounts 1 --seed 3 \
        >"$TMP/sim.log" 2>&1 &
    SIMPID=$!
    local i
    for i in $(seq 100); do [ -s "$TMP/sim.port" ] && break; sleep 0.1; done
    [ -s "$TMP/sim.port" ] || { cat "$TMP/sim.log"; return 1; }
    cat >"$TMP/config.ini" <<EOF
[database]
url = $PG
[redis]
url = unix:$RUN/redis.sock
[broker]
url = http://127.0.0.1:$(cat "$TMP/sim.port")
token_file = $TMP/token
[guard]
watch_interval_ms = 300
[notify]
enabled = false
EOF
}

# A discrepancy the bot reported long ago, resolved from the command line.
resolve_with_the_cli() {
    ID=$(q "insert into recon_log (account_id, position_id, kind, symbol, detail, first_seen, last_seen)
            values ('demo-1', 'p$MARK', 'missing_at_broker', 'EURUSD', 'test row', now(), now())
            returning id")
    check "a recon_log row #$ID is open" test -n "$ID" || return 1
    "$T" --pg "$PG" recon resolve "$ID" --note "$NOTE" >"$TMP/resolve.out" 2>&1
    check "tradeops recon resolve #$ID --note succeeds" test $? -eq 0 || diag "$(cat "$TMP/resolve.out")"
    "$T" --pg "$PG" recon resolve "$ID" --note "again $NOTE" >"$TMP/resolve2.out" 2>&1
    check "resolving #$ID again is turned down" test $? -ne 0
    check "audit_log holds both attempts (ok, then failed)" \
        test "$(q "select string_agg(outcome, ',' order by id) from audit_log
                   where action = 'recon.resolve' and reason like '%$MARK%'")" = "ok,failed"
}

audit_screen() {
    SESSION=rw
    tmx new-session -d -s rw -x "$COLS_" -y "$LINES_" \
        "'$T' --config '$TMP/config.ini'; echo \"__EXIT__ \$?\"; exec sleep 600"
    check "the console starts" wait_for 'Positions' "$START_TIMEOUT_S" || return
    keys 6
    check "6 opens the Audit tab" wait_for 'Audit: showing' || return
    check "the Audit tab shows the CLI's recon.resolve with the note as reason" \
        wait_for "recon\.resolve .*ok +$NOTE" "$LOAD_TIMEOUT_S" || return
    check "the turned-down second attempt shows as failed, above the first (newest first)" \
        bash -c "r=\$(tmux -L '$SOCK' capture-pane -p -t rw | grep -nE 'recon\.resolve .*failed +again' | cut -d: -f1);
                 o=\$(tmux -L '$SOCK' capture-pane -p -t rw | grep -nE 'recon\.resolve .*ok +$NOTE' | cut -d: -f1);
                 [ -n \"\$r\" ] && [ -n \"\$o\" ] && [ \"\$r\" -lt \"\$o\" ]"
    check "the record shows who did it and the target" wait_for "$ME.* +admin .*recon\.resolve +.*#$ID"
    check "other records show too (operator.add, account.add)" wait_for 'account\.add'
    keys /
    text "$MARK"
    keys Enter
    check "/ narrows to this run's two records" wait_for "filter: $MARK"
    check "the count says 2" wait_for "showing 2 of [0-9]+"
    check "account.add is filtered out" wait_gone 'account\.add'
    keys o
    check "o shows outcome ok only" wait_for 'outcome: ok'
    check "only the successful resolve is left" bash -c "
        s=\$(tmux -L '$SOCK' capture-pane -p -t rw); echo \"\$s\" | grep -q 'showing 1 of' &&
        echo \"\$s\" | grep -Eq 'recon\.resolve .*ok +$NOTE' && ! echo \"\$s\" | grep -Eq 'failed +again'"
    keys o o
    check "o o shows outcome failed: the second attempt" wait_for 'outcome: failed'
    check "the failed attempt is listed alone" bash -c "
        s=\$(tmux -L '$SOCK' capture-pane -p -t rw); echo \"\$s\" | grep -q 'showing 1 of' &&
        echo \"\$s\" | grep -Eq 'recon\.resolve .*failed +again'"
    keys Enter
    check "Enter opens the record's detail" wait_for 'Audit record #[0-9]+ +recon\.resolve +failed'
    check "the detail names the reason in full" wait_for "Reason +again $NOTE"
    keys Escape
    check "Esc goes back to the list" wait_for 'Audit: showing'
    keys q
    check "q quits with status 0" wait_for '^__EXIT__ 0$'
    tmx kill-session -t rw >/dev/null 2>&1
    SESSION=""
}

if check "a database and a simulator of this test's own" setup; then
    resolve_with_the_cli && audit_screen
fi
echo "1..$n"
exit "$failed"
