#!/bin/bash
# trades.sh - `tradeops trades` as a script or an operator would run it.
# Needs the services started by tests/run.sh (TRADEOPS_TEST_CONFIG). No
# detector runs on the shared demo database, so the trades shown here are
# rows this script puts into closed_trades itself, for an account of its own
# (trades-sh) that it removes again at the end, so the demo's other tests
# never see them.
set -u
T=${BIN_TRADEOPS:?}
CFG=${TRADEOPS_TEST_CONFIG:?}
RUN=${TRADEOPS_TEST_RUN:?}
PG="$(cat "$RUN/pg.base") dbname=tradeops"
ACC=trades-sh
TRADER=trades-sh-tina
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $2"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }
to() { "$T" --config "$CFG" "$@"; }
q() { psql -X -qtA "$PG" -c "$1"; }
# jsonb parses it, or the check fails: a real JSON parser, not a grep.
json_get() { echo "select (:'j'::jsonb) #>> '{$2}'" | psql -X -qtA "$PG" -v "j=$1"; }
has_control() { LC_ALL=C grep -q $'[\x1b\x07\x9b]' <<<"$1"; }

cleanup() {
    to operator remove "$TRADER" >/dev/null 2>&1
    q "delete from accounts where id = '$ACC'" >/dev/null
}
trap cleanup EXIT
cleanup

to account add "$ACC" --name "Trades CLI test" --exists-ok >/dev/null ||
    { nok "set-up: account $ACC"; echo "1..$n"; exit 1; }
# Three trades: 9000001 closed 30 minutes ago (with its two deals, one with
# a hostile comment), 9000002 3 hours ago, incomplete, with a hostile symbol
# and a strategy that a spreadsheet would run, 9000003 three days ago.
psql -X -q -v ON_ERROR_STOP=1 "$PG" <<'SQL' >/dev/null || nok "set-up: insert trades"
insert into closed_trades (account_id, position_id, symbol, side, volume, open_time, close_time,
    open_price, close_price, profit, commission, swap, strategy, magic, deals, incomplete)
values
 ('trades-sh', '9000001', 'EURUSD', 'BUY', 1.25, now() - interval '2 hours',
  now() - interval '30 minutes', 1.085, 1.0858, 100, -7, -1.5, 'trend', 20260101,
  '[{"id":"83250001","type":"DEAL_TYPE_BUY","entryType":"DEAL_ENTRY_IN","symbol":"EURUSD",
     "magic":20260101,"time":"2026-11-21T07:00:00.000Z","volume":1.25,"price":1.085,
     "commission":-3.5,"swap":0,"profit":0,"positionId":"9000001","orderId":"9000001",
     "comment":"tradeops-bot trend"},
    {"id":"83250002","type":"DEAL_TYPE_SELL","entryType":"DEAL_ENTRY_OUT","symbol":"EURUSD",
     "magic":20260101,"time":"2026-11-21T08:30:00.000Z","volume":1.25,"price":1.0858,
     "commission":-3.5,"swap":-1.5,"profit":100,"positionId":"9000001","orderId":"9000009",
     "comment":"\u001b]0;pwned\u0007 tp"}]', false),
 ('trades-sh', '9000002', E'\x1b[31mXAU\xc2\x9b', 'SELL', 0.5, null,
  now() - interval '3 hours', null, 2341.5, -250.25, -1.75, 0, '=HYPERLINK("x")', 0,
  '[]', true),
 ('trades-sh', '9000003', 'US30', 'BUY', 2, now() - interval '3 days 2 hours',
  now() - interval '3 days', 39000.5, 39010, 20, -7, 0, null, 20260103, '[]', false);
SQL

out=$(to trades --account "$ACC" 2>&1); rc=$?
check "trades --account: exit 0 with a header" '[ $rc -eq 0 ] && echo "$out" | head -1 | grep -q "^CLOSED (UTC) .*TICKET .*SYMBOL .*NET"' "$out"
order=$(echo "$out" | grep -o '900000[0-9]' | tr '\n' ' ')
check "trades --account: its three trades, newest first" '[ "$order" = "9000001 9000002 9000003 " ]' "$out"
check "text: readable numbers (volume, net, held time)" 'echo "$out" | grep "9000001" | grep -q " 1.25 .* 1h30m .* 91.50 "' "$out"
check "text: incomplete trade marked, with the footnote" 'echo "$out" | grep -q " 9000002\* " && echo "$out" | grep -q "^\* incomplete"' "$out"
check "text: totals line" 'echo "$out" | grep -q "^3 trades, net -147.50"' "$out"
check "text: no escape or C1 byte from a hostile symbol" '! has_control "$out"'

js=$(to trades --account "$ACC" --json 2>&1); rc=$?
check "--json: valid JSON, three trades" '[ $rc -eq 0 ] && [ "$(json_get "$js" 2,positionId)" = 9000003 ] && [ -z "$(json_get "$js" 3,positionId)" ]' "$js"
check "--json: every field (net, strategy, magic, times)" '[ "$(json_get "$js" 0,net)" = 91.5 ] && [ "$(json_get "$js" 0,strategy)" = trend ] && [ "$(json_get "$js" 0,magic)" = 20260101 ] && [ -n "$(json_get "$js" 0,recordedAt)" ] && [ -n "$(json_get "$js" 0,openTime)" ]' "$js"
check "--json: deals included" '[ "$(json_get "$js" 0,deals,1,entryType)" = DEAL_ENTRY_OUT ] && [ "$(json_get "$js" 0,deals,0,volume)" = 1.25 ]' "$js"
check "--json: incomplete trade has null open time and price" '[ "$(json_get "$js" 1,incomplete)" = true ] && [ "$(echo "select (:'"'"'j'"'"'::jsonb) -> 1 -> '"'"'openTime'"'"' = '"'"'null'"'"'::jsonb" | psql -X -qtA "$PG" -v "j=$js")" = t ]' "$js"
check "--json: no raw escape byte (hostile symbol and deal comment)" '! has_control "$js"'

out=$(to trades --account "$ACC" --csv 2>&1); rc=$?
check "--csv: header" '[ $rc -eq 0 ] && [ "$(echo "$out" | head -1)" = "id,account,position_id,symbol,side,volume,open_time,close_time,open_price,close_price,profit,commission,swap,net,strategy,magic,incomplete,recorded_at" ]' "$out"
check "--csv: one row per trade" '[ "$(echo "$out" | wc -l)" -eq 4 ]' "$out"
check "--csv: numbers exact, unknown ones empty" 'echo "$out" | grep -q ",9000002,.*,SELL,0.5,,.*,,2341.5,-250.25,-1.75,0,-252,"' "$out"
check "--csv: a formula-like strategy is quoted and defused" 'echo "$out" | grep -qF ",\"'"'"'=HYPERLINK(\"\"x\"\")\","' "$out"
check "--csv: no escape or C1 byte" '! has_control "$out"'

out=$(to trades --account "$ACC" --since 1h 2>&1); rc=$?
check "--since 1h: only the trade closed 30 minutes ago" '[ $rc -eq 0 ] && [ "$(echo "$out" | grep -o "900000[0-9]" | tr "\n" " ")" = "9000001 " ]' "$out"
out=$(to trades --account "$ACC" --since 2d 2>&1)
check "--since 2d: two trades" '[ "$(echo "$out" | grep -c "900000[0-9]")" -eq 2 ]' "$out"
day=$(date -u -d '1 day ago' +%Y-%m-%d)
out=$(to trades --account "$ACC" --since "$day" --csv 2>&1); rc=$?
check "--since DATE (UTC midnight)" '[ $rc -eq 0 ] && [ "$(echo "$out" | wc -l)" -eq 3 ]' "$out"
out=$(to trades --account "$ACC" --since "$(date -u -d '90 minutes ago' '+%Y-%m-%d %H:%M')" --csv 2>&1)
check "--since DATE HH:MM" '[ "$(echo "$out" | wc -l)" -eq 2 ]' "$out"
for bad in yesterday 24 -1h 0d 1y 2026-02-30 2026-13-01 "2026-11-21T25:00" "2026-11-21 09:30 junk"; do
    out=$(to trades --since "$bad" 2>&1); rc=$?
    check "bad --since \"$bad\": exit 2 naming the value" '[ $rc -eq 2 ] && echo "$out" | grep -qF -- "--since \"$bad\" is not"' "$out"
done
out=$(to trades --limit 0 2>&1); rc=$?
check "--limit 0: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "from 1 to"' "$out"
out=$(to trades --json --csv 2>&1); rc=$?
check "--json with --csv: exit 2" '[ $rc -eq 2 ]' "$out"
out=$(to trades --account "$ACC" --limit 1 2>"$RUN/trades-limit.err"); rc=$?
check "--limit 1: the newest, and says there are more" '[ $rc -eq 0 ] && [ "$(echo "$out" | grep -c "900000[0-9]")" -eq 1 ] && grep -q "there are more" "$RUN/trades-limit.err"' "$out"

out=$(to trades --help 2>&1); rc=$?
check "trades --help: exit 0, usage and the --since forms" '[ $rc -eq 0 ] && echo "$out" | grep -q "^usage: tradeops trades \[--account ID\]" && echo "$out" | grep -q "90m, 24h, 7d, 2w"' "$out"
check "tradeops --help lists trades" '"$T" --help | grep -q "trades \[--account ID\] \[--since T\]"'
out=$(to trades --bogus 2>&1); rc=$?
check "unknown option: exit 2 with the usage" '[ $rc -eq 2 ] && echo "$out" | grep -q "usage: tradeops trades"' "$out"

out=$(to trades --account nope 2>&1); rc=$?
check "--account unknown: exit 1, says so" '[ $rc -eq 1 ] && echo "$out" | grep -q "no account \"nope\""' "$out"
out=$(to trades 2>&1); rc=$?
check "trades (all accounts) includes them" '[ $rc -eq 0 ] && echo "$out" | grep -q 9000001' "$out"

if [ "$(id -u)" -eq 0 ]; then
    to operator add "$TRADER" trader --accounts demo-2 >/dev/null
    before=$(q "select count(*) from audit_log where action = 'trades.list' and outcome = 'refused' and target = '$ACC'")
    out=$(TRADEOPS_AS_USER=$TRADER to trades --account "$ACC" 2>&1); rc=$?
    check "a trader naming another account: refused, exit 3" '[ $rc -eq 3 ] && echo "$out" | grep -q "refused: .* may not see account \"$ACC\""' "$out"
    after=$(q "select count(*) from audit_log where action = 'trades.list' and outcome = 'refused' and target = '$ACC'")
    check "the refusal is audited" '[ "$after" = "$((before + 1))" ]' "$before -> $after"
    out=$(TRADEOPS_AS_USER=$TRADER to trades --account nope 2>&1); rc=$?
    check "a trader naming an unknown account is refused too (no probing)" '[ $rc -eq 3 ]' "$out"
    # stdout only: past --limit, stderr says there are more (the demo has
    # months of history).
    js=$(TRADEOPS_AS_USER=$TRADER to trades --json 2>/dev/null); rc=$?
    others=$(echo "select count(*) from jsonb_array_elements(:'j'::jsonb) e where e->>'account' <> 'demo-2'" | psql -X -qtA "$PG" -v "j=$js")
    check "a trader sees only their accounts' trades" '[ $rc -eq 0 ] && [ "$others" = 0 ]' "$js"
else
    for what in "a trader naming another account: refused, exit 3" "the refusal is audited" \
        "a trader naming an unknown account is refused too (no probing)" \
        "a trader sees only their accounts' trades"; do
        skip "$what" "needs root to act as another OS user"
    done
fi

echo "1..$n"
[ $fails -eq 0 ]
