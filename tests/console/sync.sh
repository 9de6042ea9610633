#!/bin/bash
# sync.sh - drive the real console in tmux on the Sync screen, as an admin
# would after "journal sync failed overnight": closed trades go to the
# simulator's Tradervue while it refuses every request (401), so their jobs
# die with an auth error. The operator presses 4, filters failed jobs (o),
# opens the error analysis (e), picks the auth class (Enter), and once the
# journal accepts again retries every matching job (b r, y). The jobs must
# then show completed on the screen and in PostgreSQL, the simulator's
# journal must hold every trade once, and audit_log must hold the bulk
# sync.retry. A --readonly console must offer no job action at all.
#
# Self-contained: a database of its own on the suite's PostgreSQL, the
# suite's Redis, a simulator of its own. The jobs belong to an account the
# broker does not know (its trades are inserted with SQL), so no trade of
# the simulated bot interferes. Needs BIN_TRADEOPS, BIN_SIM and
# TRADEOPS_TEST_RUN (tests/run.sh exports them), tmux, psql and curl.
# Prints TAP lines; exits 1 on failure. Every wait is bounded.
set -u

T=${BIN_TRADEOPS:?BIN_TRADEOPS must name the tradeops binary}
SIM=${BIN_SIM:?BIN_SIM must name the simulator}
RUN=${TRADEOPS_TEST_RUN:?TRADEOPS_TEST_RUN must name the suite run directory}

START_TIMEOUT_S=${START_TIMEOUT_S:-30} # the console up, the first sync load
DEAD_TIMEOUT_S=${DEAD_TIMEOUT_S:-40}   # the workers try every job and it dies
DONE_TIMEOUT_S=${DONE_TIMEOUT_S:-60}   # after the retry, every job in the journal
STEP_TIMEOUT_S=${STEP_TIMEOUT_S:-10}   # a key's effect, a reload
ABSENT_S=2                             # how long "nothing happens" is watched
POLL_S=0.1
LINES_=40
COLS_=160
JOBS=5
ACCOUNT=sjx-1 # the broker knows nothing of it
ME=$(id -un)

SOCK="tradeops-sync-test-$$"
TMP=$(mktemp -d)
DB="sync_console_$$"
BASE=$(cat "$RUN/pg.base")
PG="$BASE dbname=$DB"
SIMPID=""
SESSION=""
. "$(dirname "$0")/lib.bash"

status_line() { capture | sed -n "$((LINES_ - 1))p"; }
hint_line() { capture | sed -n "${LINES_}p"; }
stays_absent() { ! wait_for "$1" "$2"; }
q() { psql -X -q -tA -v ON_ERROR_STOP=1 "$PG" -c "$1"; }
sim() { curl -s -o "$TMP/sim.reply" -w '%{http_code}' -H 'auth-token: sync-token' -X "$1" ${3:+-d "$3"} "$URL$2"; }

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

# ---- a database, a simulator, a key, credentials and a target -------------
setup() {
    psql -X -q "$BASE dbname=postgres" -c "create database $DB" >/dev/null || return 1
    "$T" --pg "$PG" migrate >/dev/null || return 1
    "$T" --pg "$PG" operator add "$ME" admin >/dev/null || return 1
    "$T" --pg "$PG" account add demo-1 >/dev/null || return 1
    "$T" --pg "$PG" account add "$ACCOUNT" >/dev/null || return 1
    echo sync-token >"$TMP/token"
    "$SIM" --port 0 --port-file "$TMP/sim.port" --token-file "$TMP/token" --accounts 1 --seed 7 \
        --tick-ms 100 >"$TMP/sim.log" 2>&1 &
    SIMPID=$!
    local i
    for i in $(seq 100); do [ -s "$TMP/sim.port" ] && break; sleep 0.1; done
    [ -s "$TMP/sim.port" ] || { cat "$TMP/sim.log"; return 1; }
    URL="http://127.0.0.1:$(cat "$TMP/sim.port")"
    "$T" credentials keygen "$TMP/sync.key" >"$TMP/keygen.log" 2>&1 || { cat "$TMP/keygen.log"; return 1; }
    cat >"$TMP/config.ini" <<EOF
[database]
url = $PG
[redis]
url = unix:$RUN/redis.sock
[broker]
url = $URL
token_file = $TMP/token
poll_interval_ms = 500
[guard]
watch_interval_ms = 500
[notify]
enabled = false
[sync]
enabled = true
workers = 2
tradervue_url = $URL/api/v1
key_file = $TMP/sync.key
timeout_ms = 5000
poll_ms = 200
unit_ms = 100
import_poll_ms = 100
EOF
    echo "demo:demo-pass" | "$T" --config "$TMP/config.ini" credentials set tradervue \
        >"$TMP/cred.log" 2>&1 || { cat "$TMP/cred.log"; return 1; }
    "$T" --config "$TMP/config.ini" account set-sync "$ACCOUNT" tradervue --tag "$ACCOUNT" \
        >"$TMP/target.log" 2>&1 || { cat "$TMP/target.log"; return 1; }
    # The journal refuses every request until told otherwise.
    [ "$(sim POST /_sim/faults '{"journal_401_next": 100000}')" = 200 ] || { cat "$TMP/sim.reply"; return 1; }
}

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

# Closed trades of ACCOUNT: the trigger enqueues one tradervue job each.
close_trades() {
    q "insert into closed_trades (account_id, position_id, symbol, side, volume, open_time,
         close_time, open_price, close_price, profit, deals)
       select '$ACCOUNT', 'sjx' || g, 'EURUSD', 'BUY', 0.1 * g, now() - interval '1 hour',
              now() - g * interval '1 second', 1.0700, 1.0710 + g / 10000.0, 10 * g, '[]'
         from generate_series(1, $JOBS) g"
}

# ---- failed jobs, the error analysis, retry all matching -----------------
retry_all_failed() {
    start rw
    check "rw: the console starts" wait_for 'Positions' "$START_TIMEOUT_S" || { give_up; return; }
    keys 4
    check "rw: 4 opens the Sync tab" wait_for 'Jobs:|Journal sync: waiting' || { give_up; return; }
    check "rw: the tab bar reads 4 Sync and 6 Audit" wait_for '4 Sync.* 6 Audit'
    check "$JOBS closed trades are recorded" close_trades || { give_up; return; }
    if ! check "rw: every job dies of the journal's 401 within ${DEAD_TIMEOUT_S}s" \
        wait_for "Jobs: .*$JOBS dead" "$DEAD_TIMEOUT_S"; then
        diag "jobs: $(q "select state || ':' || coalesce(last_class, '-') from sync_jobs" | tr '\n' ' ')"
        give_up
        return
    fi
    check "rw: the tab badge counts the failures" wait_for "4 Sync\($JOBS"
    check "rw: the job table shows them dead with the auth error" \
        wait_for "dead +tradervue +$ACCOUNT .*auth 401"
    keys o
    check "rw: o filters failed jobs" wait_for 'filter: state=failed'
    check "rw: the engine answers with the $JOBS failed jobs" wait_for "filter: state=failed .* $JOBS matching"
    keys e
    check "rw: e opens the error analysis" wait_for "Error analysis: $JOBS failed jobs"
    check "rw: one group, auth, with its count and a sample" wait_for "auth +$JOBS +#[0-9]+ +401 "
    keys Enter
    check "rw: Enter shows that class's jobs" wait_for "filter: state=failed class=auth .* $JOBS matching" ||
        { give_up; return; }
    # The journal takes requests again.
    local code
    code=$(sim POST /_sim/faults '{"journal_401_next": 0}')
    check "the simulator's journal accepts again (HTTP $code)" test "$code" = 200
    keys b
    check "rw: b arms a bulk action" wait_for 'BULK: the next r/c/R/D acts on all'
    keys r
    check "rw: r asks to retry every matching job, with the filter and the count" \
        wait_for "Retry ALL $JOBS jobs matching state=failed class=auth\? \[y/N\]" || { give_up; return; }
    keys y Enter
    # The console's own "sent" line names the filter; the engine's answer
    # replaces it with its summary ("retried 5 of 5 matching jobs").
    check "rw: the engine's summary shows on the status line" \
        bash -c "for i in \$(seq $((STEP_TIMEOUT_S * 10))); do
            l=\$(tmux -L '$SOCK' capture-pane -p -t rw | sed -n '$((LINES_ - 1))p')
            echo \"\$l\" | grep -q 'retried $JOBS of $JOBS' && exit 0
            sleep 0.1; done; exit 1" || diag "status: $(status_line)"
    check "rw: the answer is not a refusal" bash -c "! tmux -L '$SOCK' capture-pane -p -t rw |
        sed -n '$((LINES_ - 1))p' | grep -Eq 'refused|not done|failed:'"
    if ! check "rw: every job completes within ${DONE_TIMEOUT_S}s" \
        wait_for "Jobs: 0 retryable.* 0 dead.* $JOBS completed" "$DONE_TIMEOUT_S"; then
        diag "jobs: $(q "select state || ':' || coalesce(last_class, '-') from sync_jobs" | tr '\n' ' ')"
    fi
    check "rw: the failed filter is empty now" wait_for "filter: state=failed class=auth .* 0 matching"
    check "rw: the tab badge is gone" bash -c "! tmux -L '$SOCK' capture-pane -p -t rw | head -1 | grep -q 'Sync('"
    check "PostgreSQL: $JOBS completed jobs, none left" \
        test "$(q "select count(*) filter (where state = 'completed') || '/' || count(*) from sync_jobs")" = "$JOBS/$JOBS"
    check "PostgreSQL: each retried job keeps its failed attempt and its success" \
        test "$(q "select count(*) from sync_jobs where manual_retries = 1
                   and jsonb_array_length(errors) >= 2 and errors -> 0 ->> 'class' = 'auth'")" = "$JOBS"
    check "audit_log: one bulk sync.retry by $ME, outcome ok, naming the filter" \
        test "$(q "select count(*) from audit_log where action = 'sync.retry' and outcome = 'ok'
                   and os_user = '$ME' and target like '%state=failed class=auth%'")" = 1
    sim GET /_sim/journal >/dev/null
    check "the simulator's journal holds every trade once (no duplicate)" \
        bash -c "psql -X -qtA '$PG' -v j=\"\$(cat '$TMP/sim.reply')\" <<'SQL' | grep -qx 't'
select (:'j'::jsonb #>> '{tradervue,duplicates}')::int = 0
   and (:'j'::jsonb #>> '{tradervue,executions}')::int >= $JOBS
SQL"
    keys q
    check "rw: q quits with status 0" wait_for '^__EXIT__ 0$'
    tmx kill-session -t rw >/dev/null 2>&1
    SESSION=""
}

# ---- read-only: the jobs show, no action on them --------------------------
readonly_console() {
    q "update sync_jobs set state = 'dead', finalized_at = now(), completed_at = null,
         last_class = 'auth', last_status = 401, last_error = 'test'" >/dev/null
    start ro --readonly
    check "ro: the console starts" wait_for 'Positions' "$START_TIMEOUT_S" || { give_up; return; }
    keys 4
    check "ro: the Sync tab lists the dead jobs" wait_for "dead +tradervue +$ACCOUNT" "$STEP_TIMEOUT_S" ||
        { give_up; return; }
    check "ro: status line says READ-ONLY" wait_for 'READ-ONLY'
    check "ro: the hint line has errors but no retry, reset, delete or bulk" \
        bash -c "l=\$(tmux -L '$SOCK' capture-pane -p -t ro | sed -n '${LINES_}p');
                 echo \"\$l\" | grep -q 'e errors' && ! echo \"\$l\" | grep -Eq 'retry|reset|delete|bulk'"
    keys b r
    check "ro: b r opens no prompt" stays_absent 'Retry ALL|Retry job|BULK' "$ABSENT_S"
    keys D
    check "ro: D opens no prompt" stays_absent 'Delete job' "$ABSENT_S"
    keys '?'
    check "ro: help opens" wait_for 'Help: Sync'
    check "ro: help lists no job action" stays_absent 'Retry the selected|Delete the selected|every job the filter matches' 1
    keys q q
    check "ro: q closes help, q quits with status 0" wait_for '^__EXIT__ 0$'
    check "no job changed" test "$(q "select count(*) from sync_jobs where state = 'dead'")" = "$JOBS"
    tmx kill-session -t ro >/dev/null 2>&1
    SESSION=""
}

if check "a database, a simulator refusing with 401, credentials and a Tradervue target are set up" setup; then
    retry_all_failed
    readonly_console
fi
echo "1..$n"
exit "$failed"
