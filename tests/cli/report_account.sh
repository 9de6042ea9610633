#!/bin/bash
# report_account.sh - `tradeops report --account`: the stored metrics
# (data/migrations/006_metrics.sql) of an account of this script's own
# (report-acc-sh, removed again at the end) in the offline report's JSON
# structure, the stored rows computed when missing, and usage errors.
# The four trades are tests/test_metrics_store.c's (net 98, -53, 200, 30
# from a starting balance of 10000).
set -u
T=${BIN_TRADEOPS:?}
CFG=${TRADEOPS_TEST_CONFIG:?}
RUN=${TRADEOPS_TEST_RUN:?}
PG="$(cat "$RUN/pg.base") dbname=tradeops"
ACC=report-acc-sh
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $(echo "$2" | head -c 2000)"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }
to() { "$T" --config "$CFG" "$@"; }
q() { psql -X -qtA "$PG" -c "$1"; }
json_get() { echo "select (:'j'::jsonb) #>> '{$2}'" | psql -X -qtA "$PG" -v "j=$1"; }

cleanup() { q "delete from accounts where id = '$ACC'" >/dev/null; }
trap cleanup EXIT
cleanup

to account add "$ACC" --name "Report account test" --exists-ok >/dev/null ||
    { nok "set-up: account $ACC"; echo "1..$n"; exit 1; }
psql -X -q -v ON_ERROR_STOP=1 "$PG" <<SQL >/dev/null || nok "set-up: insert trades"
update accounts set starting_balance = 10000 where id = '$ACC';
insert into closed_trades (account_id, position_id, symbol, side, volume, close_time, profit,
                           commission, swap, strategy, deals) values
 ('$ACC', 'p1', 'EURUSD', 'BUY', 1, '2024-01-10 10:00:00+00', 100, -2, 0, 'trend', '[]'),
 ('$ACC', 'p2', 'GBPUSD', 'BUY', 1, '2024-01-15 12:00:00+00', -50, -2, -1, 'trend', '[]'),
 ('$ACC', 'p3', 'EURUSD', 'BUY', 1, '2024-01-20 09:00:00+00', 200, 0, 0, null, '[]'),
 ('$ACC', 'p4', 'EURUSD', 'BUY', 1, '2024-02-05 15:00:00+00', 30, 0, 0, 'trend', '[]');
SQL

js=$(to report --account "$ACC" --period all --format json 2>/dev/null); rc=$?
check "all: exit 0, strict JSON, net 275 over 4 trades" \
    '[ $rc -eq 0 ] && [ "$(json_get "$js" overall,net_profit)" = 275 ] && [ "$(json_get "$js" overall,n_trades)" = 4 ]' "$js"
check "all: the rows were computed and stored" \
    '[ "$(q "select count(*) > 0 from perf_metrics where account_id = '"'$ACC'"'")" = t ]'
check "all: by_account, by_strategy (no strategy: \"\"), by_symbol" \
    '[ "$(json_get "$js" by_account,$ACC,win_rate)" = 0.75 ] && [ "$(json_get "$js" by_strategy,trend,net_profit)" = 75 ] && [ "$(json_get "$js" "by_strategy,\"\",profit_factor")" = Infinity ] && [ "$(json_get "$js" by_symbol,GBPUSD,net_profit)" = -53 ]' "$js"
check "all: params name the account and period" \
    '[ "$(json_get "$js" params,account)" = "$ACC" ] && [ "$(json_get "$js" params,period)" = all ] && [ "$(json_get "$js" params,starting_balance)" = 10000 ]' "$js"
js=$(to report --account "$ACC" --period month --date 2024-02-17 --format json); rc=$?
check "month of 2024-02-17: from the month's opening equity 10245" \
    '[ $rc -eq 0 ] && [ "$(json_get "$js" overall,starting_balance)" = 10245 ] && [ "$(json_get "$js" overall,net_profit)" = 30 ] && [ "$(json_get "$js" params,period_start)" = 2024-02-01 ]' "$js"
js=$(to report --account "$ACC" --period week --date 2024-01-17 --format json); rc=$?
check "week of 2024-01-17 (Monday 15th): two trades" \
    '[ $rc -eq 0 ] && [ "$(json_get "$js" overall,n_trades)" = 2 ] && [ "$(json_get "$js" overall,net_profit)" = 147 ]' "$js"
out=$(to report --account "$ACC" --period all --format csv); rc=$?
check "csv: overall, account, 2 strategies, 2 symbols" \
    '[ $rc -eq 0 ] && [ "$(echo "$out" | wc -l)" -eq 7 ]' "$out"
out=$(to report --account "$ACC" --period all); rc=$?
check "text: a table" '[ $rc -eq 0 ] && echo "$out" | grep -q "^overall"' "$out"

# ---- the starting balance (admin, audited; the stored rows follow it)
out=$(to account set-balance "$ACC" 20000 2>&1); rc=$?
js=$(to report --account "$ACC" --period month --date 2024-02-17 --format json); rc2=$?
check "set-balance 20000: the month now opens at 20245" \
    '[ $rc -eq 0 ] && [ $rc2 -eq 0 ] && [ "$(json_get "$js" overall,starting_balance)" = 20245 ]' "$out $js"
check "set-balance is audited" \
    '[ "$(q "select count(*) from audit_log where action = '"'account.set_balance'"' and target = '"'$ACC'"'")" = 1 ]'
to account set-balance "$ACC" -5 >/dev/null 2>&1; rc=$?
check "set-balance -5: exit 2" '[ $rc -eq 2 ]'
to account set-balance no-such-acc 1000 >/dev/null 2>&1; rc=$?
check "set-balance of an unknown account: exit 1" '[ $rc -eq 1 ]'

# ---- errors
to report --account "$ACC" --trades-csv x.csv --period all >/dev/null 2>&1; rc=$?
check "--account with --trades-csv: usage, exit 2" '[ $rc -eq 2 ]'
to report --account "$ACC" >/dev/null 2>&1; rc=$?
check "--account without --period: exit 2" '[ $rc -eq 2 ]'
to report --account "$ACC" --period year >/dev/null 2>&1; rc=$?
check "--period year: exit 2" '[ $rc -eq 2 ]'
to report --account "$ACC" --period day --date 2024-13-01 >/dev/null 2>&1; rc=$?
check "--date 2024-13-01: exit 2" '[ $rc -eq 2 ]'
out=$(to report --account no-such-acc --period all 2>&1 >/dev/null); rc=$?
check "unknown account: exit 1 and says so" '[ $rc -eq 1 ] && echo "$out" | grep -q "unknown account"' "$out"

echo "1..$n"
[ "$fails" -eq 0 ]
