#!/bin/bash
# sync.sh - `tradeops sync` as an operator on call or a script would run
# it: list (filters, --json, --csv), show, and retry/cancel/reset/delete by
# id and with --all, with the role checks and audit records of the console.
# Needs the services started by tests/run.sh (TRADEOPS_TEST_CONFIG). The
# jobs here belong to an account of this script's own (sync-sh-1), put in
# each state with SQL; no worker runs on the shared database during the
# shell tests. The account goes at the end (its trades and jobs with it;
# audit rows stay, the audit log being append-only).
set -u
T=${BIN_TRADEOPS:?}
CFG=${TRADEOPS_TEST_CONFIG:?}
RUN=${TRADEOPS_TEST_RUN:?}
PG="$(cat "$RUN/pg.base") dbname=tradeops"
A=sync-sh-1
VIEWER=sync-sh-vic
ONCALL=sync-sh-olga
ME=$(id -un)
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $2" | head -20; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }
to() { "$T" --config "$CFG" "$@" </dev/null; }
as() { local u=$1; shift; TRADEOPS_AS_USER=$u "$T" --config "$CFG" "$@" </dev/null; }
q() { psql -X -qtA "$PG" -c "$1"; }
json_get() { echo "select (:'j'::jsonb) #>> '{$2}'" | psql -X -qtA "$PG" -v "j=$1"; }
json_q() { echo "$2" | psql -X -qtA "$PG" -v "j=$1"; }
has_control() { LC_ALL=C grep -q $'[\x1b\x07\x9b]' <<<"$1"; }
audits() { q "select count(*) from audit_log where $1"; }
state() { q "select coalesce((select state from sync_jobs where id = $1), 'gone')"; }
# The job ids of a text listing, in order (the lines after the header).
ids() { echo "$1" | awk 'NR > 1 && $1 ~ /^[0-9]+$/ {print $1}' | tr '\n' ' '; }

cleanup() {
    for u in "$VIEWER" "$ONCALL"; do to operator remove "$u" >/dev/null 2>&1; done
    q "delete from accounts where id = '$A'" >/dev/null
}
trap cleanup EXIT
cleanup

to account add "$A" --name "Sync CLI test" --exists-ok >/dev/null ||
    { nok "set-up: account"; echo "1..$n"; exit 1; }
# Six closed trades, one tradervue job each (the trigger makes them), then
# each job put in a state: J1 dead (a 401 whose message carries an ESC
# sequence, as a hostile journal could send), J2 retryable and late, J3
# running, J4 completed, J5 available, J6 cancelled.
psql -X -q -v ON_ERROR_STOP=1 "$PG" <<'SQL' >/dev/null || nok "set-up: trades and jobs"
insert into sync_targets (account_id, provider, settings, updated_by)
values ('sync-sh-1', 'tradervue', '{"account_tag": "sync-sh-1"}', 'sync.sh');
insert into closed_trades (account_id, position_id, symbol, side, volume, open_time, close_time,
                           open_price, close_price, profit, deals)
select 'sync-sh-1', 'ssh' || g, case when g = 2 then 'XAUUSD' else 'EURUSD' end, 'BUY', 1,
       now() - interval '2 hours', now() - g * interval '10 minutes', 1.07, 1.08, 100, '[]'
  from generate_series(1, 6) g;
update sync_jobs j set state = 'dead', attempt = 15, finalized_at = now(), last_class = 'auth',
       last_status = 401, last_error = E'HTTP 401 from Tradervue: \x1b[31mAccess denied\x1b[0m',
       errors = jsonb_build_array(jsonb_build_object('n', 1, 'at', '2026-11-21T10:00:00.000Z',
                'ms', 120, 'status', 401, 'class', 'auth',
                'message', E'HTTP 401 from Tradervue: \x1b[31mAccess denied\x1b[0m'))
  from closed_trades t where t.id = j.trade_id and t.position_id = 'ssh1';
update sync_jobs j set state = 'retryable', attempt = 3, last_class = 'server', last_status = 503,
       last_error = 'HTTP 503 from Tradervue: maintenance', sla_breached_at = now(),
       scheduled_at = now() + interval '1 hour'
  from closed_trades t where t.id = j.trade_id and t.position_id = 'ssh2';
update sync_jobs j set state = 'running', attempt = 1, attempted_at = now(), attempted_by = 'h/b/0'
  from closed_trades t where t.id = j.trade_id and t.position_id = 'ssh3';
update sync_jobs j set state = 'completed', attempt = 1, finalized_at = now(), completed_at = now(),
       result = '{"status": "succeeded"}'
  from closed_trades t where t.id = j.trade_id and t.position_id = 'ssh4';
update sync_jobs j set state = 'cancelled', finalized_at = now()
  from closed_trades t where t.id = j.trade_id and t.position_id = 'ssh6';
SQL
job() { q "select j.id from sync_jobs j join closed_trades t on t.id = j.trade_id where t.position_id = 'ssh$1' and j.account_id = '$A'"; }
J1=$(job 1); J2=$(job 2); J3=$(job 3); J4=$(job 4); J5=$(job 5); J6=$(job 6)

# ---- list ----
out=$(to sync list --account "$A" 2>&1); rc=$?
check "sync list: exit 0, header" '[ $rc -eq 0 ] && echo "$out" | head -1 | grep -q "^ID .*STATE .*PROVIDER .*ACCOUNT .*POSITION .*SYMBOL .*ATTEMPT .*AGE .*LAST ERROR"' "$out"
check "sync list: newest first, every job of the account" '[ "$(ids "$out")" = "$J6 $J5 $J4 $J3 $J2 $J1 " ]' "$out"
check "sync list: state, attempt/max, the error with its class" 'echo "$out" | grep -q "^$J1 .*dead .*tradervue .*$A .*ssh1 .*EURUSD .*15/15 .*\[auth\] HTTP 401 from Tradervue"' "$out"
check "sync list: a late job is marked" 'echo "$out" | grep -q "^$J2 .*retryable! "' "$out"
check "sync list: the hostile error shows without its ESC bytes" 'echo "$out" | grep -q "Access denied" && ! has_control "$out"' "$out"
out=$(to sync list --account "$A" --state failed 2>&1)
check "--state failed: dead and retryable" '[ "$(ids "$out")" = "$J2 $J1 " ]' "$out"
out=$(to sync list --account "$A" --state running,completed 2>&1)
check "--state running,completed" '[ "$(ids "$out")" = "$J4 $J3 " ]' "$out"
out=$(to sync list --account "$A" --class auth 2>&1)
check "--class auth" '[ "$(ids "$out")" = "$J1 " ]' "$out"
out=$(to sync list --account "$A" --text xauusd 2>&1)
check "--text (symbol, any case)" '[ "$(ids "$out")" = "$J2 " ]' "$out"
out=$(to sync list --account "$A" --text "access denied" 2>&1)
check "--text (in the last error, with a space)" '[ "$(ids "$out")" = "$J1 " ]' "$out"
out=$(to sync list --account "$A" --breached 2>&1)
check "--breached" '[ "$(ids "$out")" = "$J2 " ]' "$out"
out=$(to sync list --account "$A" --provider webhook 2>&1); rc=$?
check "--provider webhook: none, exit 0" '[ $rc -eq 0 ] && [ -z "$(ids "$out")" ]' "$out"
out=$(to sync list --account "$A" --limit 2 2>"$RUN/sync-limit.err")
check "--limit 2: the two newest, and says there are more" '[ "$(ids "$out")" = "$J6 $J5 " ] && grep -q "there are more" "$RUN/sync-limit.err"' "$out"
js=$(to sync list --account "$A" --state dead --json 2>&1); rc=$?
check "--json: valid, one job, its fields" '[ $rc -eq 0 ] && [ "$(json_get "$js" 0,id)" = "$J1" ] && [ -z "$(json_get "$js" 1,id)" ] && [ "$(json_get "$js" 0,state)" = dead ] && [ "$(json_get "$js" 0,lastStatus)" = 401 ] && [ "$(json_get "$js" 0,lastClass)" = auth ] && [ "$(json_get "$js" 0,attempt)" = 15 ] && [ -n "$(json_get "$js" 0,closedAt)" ]' "$js"
check "--json: the ESC is escaped, never raw" '! has_control "$js" && [ "$(json_q "$js" "select position(chr(27) in (:'"'"'j'"'"'::jsonb) -> 0 ->> '"'"'lastError'"'"') > 0")" = t ]' "$js"
csv=$(to sync list --account "$A" --state dead --csv 2>&1); rc=$?
check "--csv: header and one row, no raw control byte" '[ $rc -eq 0 ] && [ "$(echo "$csv" | head -1)" = "id,state,provider,account,trade_id,position,symbol,attempt,max_attempts,closed_at,sla_breached,last_class,last_status,last_error" ] && [ "$(echo "$csv" | wc -l)" = 2 ] && echo "$csv" | grep -q "^$J1,dead,tradervue,$A," && ! has_control "$csv"' "$csv"
for bad in "--state sleeping" "--provider fax" "--class gremlins" "--limit 0" "--json --csv"; do
    out=$(to sync list $bad 2>&1); rc=$?
    check "sync list $bad: exit 2" '[ $rc -eq 2 ]' "rc=$rc $out"
done
out=$(to sync list --state sleeping 2>&1)
check "a bad state names the choices" 'echo "$out" | grep -q "unknown state; states are available, running"' "$out"

# ---- show ----
out=$(to sync show "$J1" 2>&1); rc=$?
check "sync show: exit 0, the job, the trade and every attempt" '[ $rc -eq 0 ] && echo "$out" | head -1 | grep -q "^job $J1  dead  tradervue  $A/ssh1 EURUSD BUY" && echo "$out" | grep -q "attempts (1 kept" && echo "$out" | grep -q "#1 .*2026-11-21T10:00:00.000Z .*120 ms  HTTP 401  auth .*Access denied"' "$out"
check "sync show: no raw control byte" '! has_control "$out"' "$out"
js=$(to sync show "$J4" --json 2>&1); rc=$?
check "sync show --json: the journal's result and the trade" '[ $rc -eq 0 ] && [ "$(json_get "$js" result,status)" = succeeded ] && [ "$(json_get "$js" trade,side)" = BUY ] && [ "$(json_get "$js" state)" = completed ] && [ -n "$(json_get "$js" completedAt)" ]' "$js"
out=$(to sync show 99999999 2>&1); rc=$?
check "sync show of an unknown job: exit 1" '[ $rc -eq 1 ] && echo "$out" | grep -q "no sync job 99999999"' "$out"
out=$(to sync show abc 2>&1); rc=$?
check "sync show abc: exit 2" '[ $rc -eq 2 ]' "$out"

# ---- actions by id ----
before=$(audits "action = 'sync.retry' and outcome = 'ok' and target like 'sync job #$J1 %'")
out=$(to sync retry "$J1" --note "credentials fixed" 2>&1); rc=$?
check "sync retry of the dead job: exit 0, says so" '[ $rc -eq 0 ] && echo "$out" | grep -q "retried sync job #$J1 tradervue $A/ssh1"' "$out"
check "... available again, the manual retry not counting against the limit" '[ "$(q "select state || '"'"'|'"'"' || manual_retries || '"'"'|'"'"' || max_attempts from sync_jobs where id = $J1")" = "available|1|16" ]'
check "... audited with the note" '[ "$(audits "action = '"'"'sync.retry'"'"' and outcome = '"'"'ok'"'"' and target like '"'"'sync job #$J1 %'"'"' and reason = '"'"'credentials fixed'"'"'")" = "$((before + 1))" ]'
out=$(to sync retry "$J3" 2>&1); rc=$?
check "sync retry of a running job: exit 1, says why, audited as failed" '[ $rc -eq 1 ] && echo "$out" | grep -q "job $J3 is running: it cannot be retried until it finishes" && [ "$(state "$J3")" = running ] && [ "$(audits "action = '"'"'sync.retry'"'"' and outcome = '"'"'failed'"'"' and target like '"'"'sync job #$J3 %'"'"'")" -ge 1 ]' "$out"
out=$(to sync cancel "$J5" 2>&1); rc=$?
check "sync cancel of an available job: exit 0, cancelled" '[ $rc -eq 0 ] && [ "$(state "$J5")" = cancelled ]' "$out"
out=$(to sync reset "$J4" 2>&1); rc=$?
check "sync reset of the completed job: exit 0, attempts back to 0" '[ $rc -eq 0 ] && [ "$(q "select state || '"'"'|'"'"' || attempt || '"'"'|'"'"' || jsonb_array_length(archived_errors) from sync_jobs where id = $J4")" = "available|0|1" ]' "$out"
out=$(to sync delete "$J6" "$J2" 2>&1); rc=$?
check "sync delete of a cancelled and a retryable job: the first goes, the second is refused, exit 1" '[ $rc -eq 1 ] && [ "$(state "$J6")" = gone ] && [ "$(state "$J2")" = retryable ] && echo "$out" | grep -q "deleted sync job #$J6" && echo "$out" | grep -q "only a finished job"' "$out"
out=$(to sync retry 99999999 2>&1); rc=$?
check "sync retry of an unknown job: exit 1" '[ $rc -eq 1 ] && echo "$out" | grep -q "no such target"' "$out"

# ---- usage ----
for args in "" "frobnicate" "retry" "retry 1 --all" "retry --state dead 5" "retry abc" "retry -- -3" "cancel --all --state sleeping"; do
    out=$(to sync $args 2>&1); rc=$?
    check "sync $args: exit 2" '[ $rc -eq 2 ]' "rc=$rc $out"
done
out=$(to sync retry --all --account "$A" 2>&1); rc=$?
check "--all with no terminal and no --yes: exit 2, nothing done" '[ $rc -eq 2 ] && echo "$out" | grep -q -- "add --yes" && [ "$(state "$J2")" = retryable ]' "$out"
long=$(head -c 600 /dev/zero | tr '\0' x)
out=$(to sync retry "$J2" --note "$long" 2>&1); rc=$?
check "a 600-byte note: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "at most 500"' "$out"

# ---- roles ----
if [ "$(id -u)" -eq 0 ]; then
    to operator add "$VIEWER" viewer >/dev/null
    to operator add "$ONCALL" oncall >/dev/null
    before=$(audits "action = 'sync.retry' and outcome = 'refused' and os_user = '$ME as $VIEWER'")
    out=$(as "$VIEWER" sync retry "$J2" 2>&1); rc=$?
    check "retry as a viewer: refused, exit 3" '[ $rc -eq 3 ] && echo "$out" | grep -q "refused: .*needs the oncall role" && [ "$(state "$J2")" = retryable ]' "$out"
    out=$(as "$VIEWER" sync retry --all --account "$A" --yes 2>&1); rc=$?
    check "bulk retry as a viewer: refused, exit 3" '[ $rc -eq 3 ] && [ "$(state "$J2")" = retryable ]' "$out"
    after=$(audits "action = 'sync.retry' and outcome = 'refused' and os_user = '$ME as $VIEWER'")
    check "... both refusals audited" '[ "$after" = "$((before + 2))" ]' "$before -> $after"
    out=$(as "$VIEWER" sync list --account "$A" 2>&1); rc=$?
    check "a viewer may list" '[ $rc -eq 0 ] && echo "$out" | grep -q "^$J2 "' "$out"
    out=$(as "$ONCALL" sync cancel "$J2" 2>&1); rc=$?
    check "cancel as oncall: refused (admin only), exit 3" '[ $rc -eq 3 ] && echo "$out" | grep -q "needs the admin role" && [ "$(state "$J2")" = retryable ]' "$out"
else
    for what in "retry as a viewer: refused, exit 3" "bulk retry as a viewer: refused, exit 3" \
        "... both refusals audited" "a viewer may list" "cancel as oncall: refused (admin only), exit 3"; do
        skip "$what" "needs root to act as another OS user"
    done
fi

# ---- --all ----
if command -v script >/dev/null 2>&1; then
    out=$(printf 'n\n' | TERM=dumb script -qec "\"$T\" --config \"$CFG\" sync retry --all --account $A --state failed" /dev/null 2>&1); rc=$?
    check "--all on a terminal: shows the count, asks, and a no changes nothing" 'echo "$out" | grep -q "1 job matches" && echo "$out" | grep -q "Retry 1 job? \[y/N\]" && echo "$out" | grep -q "not confirmed; nothing changed" && [ "$(state "$J2")" = retryable ]' "$out"
else
    skip "--all on a terminal: shows the count, asks, and a no changes nothing" "no script(1)"
fi
before=$(audits "action = 'sync.retry' and outcome = 'ok' and target = 'filter: state=failed account=$A'")
out=$(to sync retry --all --account "$A" --state failed --yes --note "journal back" 2>&1); rc=$?
check "retry --all --yes: exit 0, the count, the summary" '[ $rc -eq 0 ] && echo "$out" | grep -q "^1 job matches the filter \"state=failed account=$A\"; retry applies to 1 of them" && echo "$out" | grep -q "^retried 1 of 1 matching job$"' "$out"
check "... the late job is available again" '[ "$(state "$J2")" = available ]'
check "... audited once, with the filter and the count" '[ "$(audits "action = '"'"'sync.retry'"'"' and outcome = '"'"'ok'"'"' and target = '"'"'filter: state=failed account=$A'"'"' and (details->>'"'"'matched'"'"')::int = 1 and reason = '"'"'journal back'"'"'")" = "$((before + 1))" ]'
out=$(to sync cancel --all --account "$A" --yes 2>&1); rc=$?
check "cancel --all --yes: the waiting ones, the rest skipped" '[ $rc -eq 0 ] && echo "$out" | grep -q "cancelled 3 of 5 matching jobs; 2 skipped" && [ "$(state "$J3")" = running ]' "$out"
out=$(to sync delete --all --account "$A" --state cancelled --yes 2>&1); rc=$?
check "delete --all --state cancelled --yes: gone" '[ $rc -eq 0 ] && echo "$out" | grep -q "deleted 4 of 4" && [ "$(q "select count(*) from sync_jobs where account_id = '"'"'$A'"'"'")" = 1 ]' "$out"

# ---- help ----
out=$(to sync --help 2>&1); rc=$?
check "sync --help: exit 0, usage" '[ $rc -eq 0 ] && echo "$out" | grep -q "^usage: tradeops sync list"' "$out"
out=$(to sync retry --help 2>&1); rc=$?
check "sync retry --help: the filters and who may" '[ $rc -eq 0 ] && echo "$out" | grep -q -- "--breached" && echo "$out" | grep -q "oncall or admin"' "$out"
check "tradeops --help lists sync" '"$T" --help | grep -q "sync list"'

echo "1..$n"
[ $fails -eq 0 ]
