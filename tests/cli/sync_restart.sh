#!/bin/bash
# sync_restart.sh - journal sync through the faults of a real deployment:
# `tradeops daemon` killed with SIGKILL while jobs are in flight and started
# again, and PostgreSQL restarted under the workers. Afterwards every job
# has completed, and the simulator's journals hold every trade exactly once
# (Tradervue's duplicate check and the webhook's Idempotency-Key absorb the
# resends a rescue makes).
#
# Uses the suite's PostgreSQL (restarted here: shell tests run one at a
# time, after the Criterion suite) with a database of its own, and a
# simulator of its own. Prints TAP lines.
set -u
T=${BIN_TRADEOPS:?}
SIM=${BIN_SIM:?}
RUN=${TRADEOPS_TEST_RUN:?}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
WAIT_S=${WAIT_S:-90}
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }

TMP=$(mktemp -d)
DB="syncrestart_$$"
BASE=$(cat "$RUN/pg.base")
PG="$BASE dbname=$DB"
SIMPID=""
DPID=""
cleanup() {
    [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
    [ -n "$SIMPID" ] && kill "$SIMPID" 2>/dev/null
    wait 2>/dev/null
    psql -X -q "$BASE dbname=postgres" -c "drop database if exists $DB with (force)" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
q() { psql -X -qtA "$PG" -c "$1" 2>/dev/null; }
wait_for() {
    local i
    for i in $(seq $((WAIT_S * 5))); do eval "$2" && return 0; sleep 0.2; done
    return 1
}

psql -X -q "$BASE dbname=postgres" -c "create database $DB" >/dev/null
"$T" --pg "$PG" migrate >/dev/null
"$T" --pg "$PG" operator add "$(id -un)" admin >/dev/null
# book-1 is a book the broker does not know: disabled, so nothing polls it;
# its trades are written here directly, as the detector would.
"$T" --pg "$PG" account add book-1 >/dev/null
q "update accounts set enabled = false where id = 'book-1'" >/dev/null

echo restart-token > "$TMP/token"
"$SIM" --port 0 --port-file "$TMP/sim.port" --token-file "$TMP/token" --accounts 1 --seed 4 \
    >"$TMP/sim.log" 2>&1 &
SIMPID=$!
wait_for "simulator" '[ -s "$TMP/sim.port" ]'
URL="http://127.0.0.1:$(cat "$TMP/sim.port")"
sim() { curl -s -H "auth-token: restart-token" -X "$1" ${3:+-d "$3"} "$URL$2"; }
# Imports take a while, so a SIGKILL finds some of them in flight.
sim POST /_sim/faults '{"journal_import_ms":400}' >/dev/null

cat >"$TMP/config.ini" <<EOF
[database]
url = $PG
[redis]
url = unix:$RUN/redis.sock
[broker]
url = $URL
token_file = $TMP/token
[engine]
instance = syncrestart
[sync]
tradervue_url = $URL/api/v1
key_file = $TMP/sync.key
workers = 4
poll_ms = 200
unit_ms = 100
timeout_ms = 3000
import_poll_ms = 50
import_timeout_s = 10
rescue_interval_s = 2
rescue_margin_s = 2
EOF
C=(--config "$TMP/config.ini")
"$T" "${C[@]}" credentials keygen "$TMP/sync.key" >/dev/null
printf 'demo:demo-pass\n' | "$T" "${C[@]}" credentials set tradervue >/dev/null
printf 'demo-webhook-secret\n' | "$T" "${C[@]}" credentials set webhook >/dev/null
"$T" "${C[@]}" account set-sync book-1 tradervue --tag book-1 --multiplier '*=100000' >/dev/null
"$T" "${C[@]}" account set-sync book-1 webhook --url "$URL/hooks/journal" >/dev/null
check "two targets for book-1" '[ "$(q "select count(*) from sync_targets where enabled")" = 2 ]'

# add_trades FIRST N: N closed trades of book-1, positions FIRST...
add_trades() {
    q "insert into closed_trades (account_id, position_id, symbol, side, volume, open_time,
         close_time, open_price, close_price, profit, commission, swap, deals)
       select 'book-1', g::text, 'EURUSD', 'BUY', 0.1, now() - interval '5 minutes', now(),
              1.07 + g * 0.00001, 1.072 + g * 0.00001, 10, -0.5, 0, '[]'
         from generate_series($1, $(($1 + $2 - 1))) g" >/dev/null
}

start_daemon() {
    "$T" "${C[@]}" daemon >>"$TMP/daemon.log" 2>&1 &
    DPID=$!
}
start_daemon
add_trades 1 150
check "jobs start completing" \
    'wait_for some "[ \"\$(q \"select count(*) from sync_jobs where state = '"'"'completed'"'"'\")\" -gt 0 ]"' \
    "$(tail -n 5 "$TMP/daemon.log")"
running=$(q "select count(*) from sync_jobs where state <> 'completed'")
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=""
check "SIGKILL left work unfinished ($running jobs)" '[ "$running" -gt 0 ]'
start_daemon
check "after the restart every job completes" \
    'wait_for all1 "[ \"\$(q \"select count(*) from sync_jobs where state = '"'"'completed'"'"'\")\" = 300 ]"' \
    "$(q "select state, count(*) from sync_jobs group by 1") $(tail -n 5 "$TMP/daemon.log")"

# PostgreSQL restarts under the workers while they are busy.
add_trades 151 150
wait_for busy '[ "$(q "select count(*) from sync_jobs where state = '"'"'completed'"'"'")" -gt 300 ]'
"$HERE/data/dev/services.sh" restart-pg "$RUN" >/dev/null 2>&1
check "PostgreSQL restarted" '[ "$(q "select 1")" = 1 ]'
check "after the PostgreSQL restart every job completes" \
    'wait_for all2 "[ \"\$(q \"select count(*) from sync_jobs where state = '"'"'completed'"'"'\")\" = 600 ]"' \
    "$(q "select state, last_class, count(*), min(last_error) from sync_jobs group by 1, 2") $(tail -n 5 "$TMP/daemon.log")"
echo "# jobs by state/class: $(q "select state || '/' || coalesce(last_class, '') || ' ' || count(*) from sync_jobs group by state, last_class" | tr '\n' ' ')"
echo "# dead: $(q "select distinct last_error from sync_jobs where state = 'dead'" | head -n 3 | tr '\n' ' ')"
check "the daemon survived the restart" 'kill -0 "$DPID" 2>/dev/null'

j=$(curl -s "$URL/_sim/journal")
jq_() { printf '%s\n' "select $1 from (select :'j'::jsonb as j) x" | psql -X -qtA "$PG" -v "j=$j"; }
check "Tradervue holds two executions per trade, none twice" \
    '[ "$(jq_ "(select count(*) from jsonb_array_elements(j->'"'"'tradervue'"'"'->'"'"'journals'"'"') b, jsonb_array_elements(b->'"'"'executions'"'"') e)")" = 600 ]' \
    "tradervue: $(jq_ "(j->'tradervue') - 'journals'")"
check "the webhook journal holds every trade once" \
    '[ "$(jq_ "(select count(*) || '"'"'/'"'"' || count(distinct t->>'"'"'trade_id'"'"') from jsonb_array_elements(j->'"'"'webhook'"'"'->'"'"'trades'"'"') t)")" = 300/300 ]' \
    "webhook: $(jq_ "(j->'webhook') - 'trades'")"
check "no job was attempted past the limit" \
    '[ "$(q "select count(*) from sync_jobs where attempt > max_attempts")" = 0 ]'
echo "# rescued attempts: $(q "select count(*) from sync_jobs j, jsonb_array_elements(j.errors) e where e->>'class' = 'rescued'")," \
    "resends absorbed by Tradervue: $(jq_ "j->'tradervue'->'duplicates'")," \
    "by the webhook: $(jq_ "j->'webhook'->'duplicate_deliveries'")"

kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null
DPID=""
echo "1..$n"
[ "$fails" -eq 0 ]
