#!/bin/bash
# restart.sh - the engine under faults a real deployment meets: `tradeops
# daemon` killed with SIGKILL in the middle of its work and started again,
# and PostgreSQL restarted under it. Afterwards every trade the simulator
# closed is recorded exactly once, the reconciliation row of a divergence is
# neither lost nor repeated, and it still resolves when the divergence ends.
#
# Uses the suite's PostgreSQL (restarted here: shell tests run one at a
# time, after the Criterion suite) with a database of its own, and a
# simulator of its own that plays the bot. Prints TAP lines.
set -u
T=${BIN_TRADEOPS:?}
SIM=${BIN_SIM:?}
RUN=${TRADEOPS_TEST_RUN:?}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
WAIT_S=${WAIT_S:-60}
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }

TMP=$(mktemp -d)
DB="restart_$$"
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
# wait_for "what" 'condition' : polls every 0.2 s up to WAIT_S seconds.
wait_for() {
    local i
    for i in $(seq $((WAIT_S * 5))); do eval "$2" && return 0; sleep 0.2; done
    return 1
}

psql -X -q "$BASE dbname=postgres" -c "create database $DB" >/dev/null
"$T" --pg "$PG" migrate >/dev/null
"$T" --pg "$PG" operator add "$(id -un)" admin >/dev/null
for a in demo-1 demo-2; do "$T" --pg "$PG" account add "$a" >/dev/null; done

echo restart-token > "$TMP/token"
"$SIM" --port 0 --port-file "$TMP/sim.port" --token-file "$TMP/token" --accounts 2 --seed 4 \
    --tick-ms 50 --pg "$PG" >"$TMP/sim.log" 2>&1 &
SIMPID=$!
wait_for "simulator" '[ -s "$TMP/sim.port" ]'
URL="http://127.0.0.1:$(cat "$TMP/sim.port")"
sim() { curl -s -H "auth-token: restart-token" -X "$1" ${3:+-d "$3"} "$URL$2"; }

cat >"$TMP/config.ini" <<EOF
[database]
url = $PG
[redis]
url = unix:$RUN/redis.sock
[broker]
url = $URL
token_file = $TMP/token
poll_interval_ms = 200
[recon]
interval_s = 1
[trades]
interval_s = 1
EOF
start_daemon() {
    "$T" --config "$TMP/config.ini" daemon >>"$TMP/daemon.log" 2>&1 &
    DPID=$!
}
start_daemon

check "closed trades are recorded while the market runs" \
    'wait_for trades "[ \"\$(q \"select count(*) from closed_trades\")\" -ge 2 ]"' \
    "$(tail -n 5 "$TMP/daemon.log")"

reply=$(sim POST /_sim/scenario '{"account":"demo-1","kind":"never_opened","action":"start"}')
# jsonb parses the reply: a real JSON parser, not a grep.
pos=$(printf '%s\n' "select (:'j'::jsonb)->>'position'" | psql -X -qtA "$PG" -v "j=$reply")
check "the never-opened scenario is logged as missing at the broker" \
    'wait_for recon "[ \"\$(q \"select count(*) from recon_log where position_id = '"'"'$pos'"'"' and kind = '"'"'missing_at_broker'"'"' and resolved_at is null\")\" = 1 ]"' \
    "position $pos; $(q "select position_id, kind from recon_log")"

# SIGKILL in the middle of whatever it was doing, then start again.
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
before=$(q "select count(*) from closed_trades")
start_daemon
check "after SIGKILL and a restart, new trades keep arriving" \
    'wait_for more "[ \"\$(q \"select count(*) from closed_trades\")\" -gt $before ]"'

# PostgreSQL restarts under the running daemon.
"$HERE/data/dev/services.sh" restart-pg "$RUN" >/dev/null 2>&1
check "PostgreSQL restarted" '[ "$(q "select 1")" = 1 ]'
before=$(q "select count(*) from closed_trades")
check "after the PostgreSQL restart, new trades keep arriving" \
    'wait_for more2 "[ \"\$(q \"select count(*) from closed_trades\")\" -gt $before ]"' \
    "$(tail -n 5 "$TMP/daemon.log")"
check "the daemon survived the restart" 'kill -0 "$DPID" 2>/dev/null'

# End the scenario: the row resolves, so the reconciler carries on too.
sim POST /_sim/scenario '{"account":"demo-1","kind":"never_opened","action":"end"}' >/dev/null
check "the scenario's row resolves by itself after both restarts" \
    'wait_for resolved "[ \"\$(q \"select count(*) from recon_log where position_id = '"'"'$pos'"'"' and resolution = '"'"'auto'"'"'\")\" = 1 ]"'
check "exactly one row for that divergence, through both restarts" \
    '[ "$(q "select count(*) from recon_log where position_id = '"'"'$pos'"'"'")" = 1 ]'

# Stop the market and let the detector catch up: every position the
# simulator closed is one trade, none twice, none missing.
sim POST /_sim/pause >/dev/null
expected() {
    local total=0 a d p c
    for a in demo-1 demo-2; do
        d=$(sim GET "/users/current/accounts/$a/history-deals/time/2000-01-01T00:00:00.000Z/2100-01-01T00:00:00.000Z?limit=1000")
        p=$(sim GET "/users/current/accounts/$a/positions")
        c=$(printf '%s\n' "select count(distinct x->>'positionId') from jsonb_array_elements(:'d'::jsonb) x where x->>'entryType' = 'DEAL_ENTRY_OUT' and not exists (select 1 from jsonb_array_elements(:'p'::jsonb) o where o->>'id' = x->>'positionId')" |
            psql -X -qtA "$PG" -v "d=$d" -v "p=$p")
        total=$((total + c))
    done
    echo "$total"
}
want=$(expected)
check "every closed position is recorded, exactly once ($want)" \
    'wait_for caught_up "[ \"\$(q \"select count(*) from closed_trades\")\" = \"$want\" ]"' \
    "recorded $(q "select count(*) from closed_trades"), simulator closed $want"
check "no position recorded twice" \
    '[ "$(q "select count(*) from (select 1 from closed_trades group by account_id, position_id having count(*) > 1) d")" = 0 ]'

kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null
DPID=""
echo "1..$n"
[ "$fails" -eq 0 ]
