#!/bin/bash
# audit.sh - `tradeops audit` as an auditor or a script would run it.
# Needs the services started by tests/run.sh (TRADEOPS_TEST_CONFIG). The
# audit log is append-only, so this script adds its own records (the
# triggers forbid only UPDATE, DELETE and TRUNCATE) with a target marker
# of its own, unique to this run, and filters on it.
set -u
T=${BIN_TRADEOPS:?}
CFG=${TRADEOPS_TEST_CONFIG:?}
RUN=${TRADEOPS_TEST_RUN:?}
PG="$(cat "$RUN/pg.base") dbname=tradeops"
M="audit-sh-$$-$RANDOM" # in every target of this run's records
VIEWER=audit-sh-vera
TRADER=audit-sh-tess
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
# The user column of the rows, in order: who did each, newest first.
users() { echo "$1" | awk '$1 ~ /^[0-9][0-9][0-9][0-9]-/ {print $3}' | tr '\n' ' '; }
# The actions of the rows, in order, from --json.
actions() { echo "select string_agg(e->>'action', ' ' order by o) from jsonb_array_elements(:'j'::jsonb) with ordinality x(e, o)" | psql -X -qtA "$PG" -v "j=$1"; }

cleanup() { for u in "$VIEWER" "$TRADER"; do to operator remove "$u" >/dev/null 2>&1; done; }
trap cleanup EXIT
cleanup

# Five records about "$M", at known ages. One reason has a comma, quotes
# and a newline (CSV quoting; the newline, a control character, is shown
# as ?), one starts like a formula and carries an ESC sequence (defused
# and made inert), one refusal carries its why.
psql -X -q -v ON_ERROR_STOP=1 -v m="$M" "$PG" <<'SQL' >/dev/null || nok "set-up: insert audit records"
insert into audit_log (at, os_user, role, source, action, target, reason, outcome, details) values
 (now() - interval '3 days', 'audit-sh-alice', 'oncall', '10.0.0.1', 'guard.abort',
  'guard ' || :'m' || ' (countdown)', E'news at 14:30, "spread" wide\nsecond line', 'ok',
  jsonb_build_object('account', :'m')),
 (now() - interval '25 hours', 'audit-sh-alice', 'admin', 'local', 'guardx.test',
  'thing ' || :'m', null, 'ok', null),
 (now() - interval '2 hours', 'root as audit-sh-bob', 'viewer', 'local', 'guard.abort',
  'guard ' || :'m' || ' (countdown)', 'want to stop it', 'refused',
  '{"why": "guard.abort needs the oncall role; audit-sh-bob is viewer"}'),
 (now() - interval '10 minutes', 'audit-sh-alice', 'admin', '10.0.0.1', 'guard.close_all',
  'guard ' || upper(:'m') || ' (ok)', E'=cmd|\x1b[2J wipe', 'failed', '{"why": "bridge down"}'),
 (now() - interval '5 minutes', 'audit-sh-carl', 'oncall', 'local', 'alert.ack',
  'alert #999 guard.warning ' || :'m', null, 'ok', '{"kind": "guard.warning"}');
SQL

out=$(to audit --target "$M" 2>&1); rc=$?
check "audit --target: exit 0 with a header" '[ $rc -eq 0 ] && echo "$out" | head -1 | grep -q "^AT (UTC) .*USER .*ROLE .*SOURCE .*ACTION .*OUTCOME .*TARGET"' "$out"
check "audit --target: its five records, newest first" '[ "$(users "$out")" = "audit-sh-carl audit-sh-alice root audit-sh-alice audit-sh-alice " ] && echo "$out" | grep -q "^5 records$"' "$out"
check "text: the reason and a refusal's why on their own lines" 'echo "$out" | grep -q "^    reason: want to stop it$" && echo "$out" | grep -q "^    why: guard.abort needs the oncall role"' "$out"
check "text: no escape byte from a hostile reason" '! has_control "$out" && echo "$out" | grep -q "reason: =cmd|?\[2J wipe"' "$out"
check "--target matches in any case" '[ "$(to audit --target "${M^^}" | tail -1)" = "5 records" ]'

js=$(to audit --target "$M" --user audit-sh-alice --json 2>&1); rc=$?
check "--user: that operator's records only" '[ $rc -eq 0 ] && [ "$(actions "$js")" = "guard.close_all guardx.test guard.abort" ]' "$js"
js=$(to audit --target "$M" --user audit-sh-bob --json 2>&1)
check "--user also finds root acting as that operator" '[ "$(json_get "$js" 0,user)" = "root as audit-sh-bob" ] && [ -z "$(json_get "$js" 1,id)" ]' "$js"
js=$(to audit --target "$M" --action guard --json 2>&1)
check "--action guard: every guard.* action, not guardx.test or alert.ack" '[ "$(actions "$js")" = "guard.close_all guard.abort guard.abort" ]' "$js"
js=$(to audit --target "$M" --action guard.abort --json 2>&1)
check "--action guard.abort: exactly that action" '[ "$(actions "$js")" = "guard.abort guard.abort" ]' "$js"
js=$(to audit --target "$M" --outcome refused --json 2>&1)
check "--outcome refused" '[ "$(actions "$js")" = "guard.abort" ] && [ "$(json_get "$js" 0,outcome)" = refused ]' "$js"
out=$(to audit --outcome maybe 2>&1); rc=$?
check "--outcome unknown: exit 2 naming the choices" '[ $rc -eq 2 ] && echo "$out" | grep -q "not one of ok, refused, failed"' "$out"

js=$(to audit --target "$M" --since 1h --json 2>&1)
check "--since 1h" '[ "$(actions "$js")" = "alert.ack guard.close_all" ]' "$js"
js=$(to audit --target "$M" --since 1d --json 2>&1)
check "--since 1d" '[ "$(actions "$js")" = "alert.ack guard.close_all guard.abort" ]' "$js"
js=$(to audit --target "$M" --since "$(date -u -d '2 days ago' +%Y-%m-%d)" --json 2>&1)
check "--since DATE (UTC midnight)" '[ "$(actions "$js")" = "alert.ack guard.close_all guard.abort guardx.test" ]' "$js"
js=$(to audit --target "$M" --since "$(date -u -d '3 hours ago' '+%Y-%m-%d %H:%M')" --json 2>&1)
check "--since DATE HH:MM" '[ "$(actions "$js")" = "alert.ack guard.close_all guard.abort" ]' "$js"
for bad in yesterday 24 -1h 0d 2026-02-30 "2026-11-21 09:30 junk"; do
    out=$(to audit --since "$bad" 2>&1); rc=$?
    check "bad --since \"$bad\": exit 2 naming the value" '[ $rc -eq 2 ] && echo "$out" | grep -qF -- "--since \"$bad\" is not"' "$out"
done

js=$(to audit --target "$M" --json 2>&1); rc=$?
check "--json: valid, five records" '[ $rc -eq 0 ] && [ -n "$(json_get "$js" 4,id)" ] && [ -z "$(json_get "$js" 5,id)" ]' "$js"
check "--json: fields" '[ "$(json_get "$js" 0,action)" = alert.ack ] && [ "$(json_get "$js" 0,user)" = audit-sh-carl ] && [ "$(json_get "$js" 0,role)" = oncall ] && [ "$(json_get "$js" 0,source)" = local ] && [ "$(json_get "$js" 0,outcome)" = ok ] && [ -n "$(json_get "$js" 0,at)" ]' "$js"
check "--json: details is an object; an unset reason is null" '[ "$(json_get "$js" 0,details,kind)" = guard.warning ] && [ "$(echo "select (:'"'"'j'"'"'::jsonb) -> 0 -> '"'"'reason'"'"' = '"'"'null'"'"'::jsonb" | psql -X -qtA "$PG" -v "j=$js")" = t ]' "$js"
check "--json: the reason kept whole, its ESC escaped, never raw" '! has_control "$js" && [ "$(echo "select (:'"'"'j'"'"'::jsonb) -> 1 ->> '"'"'reason'"'"' = E'"'"'=cmd|\\x1b[2J wipe'"'"'" | psql -X -qtA "$PG" -v "j=$js")" = t ]' "$js"

csv="$RUN/audit-sh.csv"
to audit --target "$M" --csv >"$csv" 2>&1; rc=$?
check "--csv: header" '[ $rc -eq 0 ] && [ "$(head -1 "$csv")" = "id,at,user,role,source,action,target,reason,outcome,details" ]' "$(cat "$csv")"
# PostgreSQL's CSV reader is the judge of the quoting.
parsed=$(psql -X -qtA -v ON_ERROR_STOP=1 "$PG" 2>&1 <<SQL
create temp table c (id bigint, at timestamptz, "user" text, role text, source text, action text,
                     target text, reason text, outcome text, details text);
\copy c from '$csv' with (format csv, header true)
select count(*) from c;
select reason = 'news at 14:30, "spread" wide?second line' from c where action = 'guard.abort' and outcome = 'ok';
select reason from c where action = 'guard.close_all';
select (details::jsonb) ->> 'why' from c where outcome = 'refused';
select coalesce(reason, '<null>') from c where action = 'alert.ack';
SQL
)
check "--csv: five rows that a CSV reader reads back" '[ "$(echo "$parsed" | sed -n 1p)" = 5 ]' "$parsed"
check "--csv: a reason with a comma and quotes survives; its newline is shown as ? (one line per record)" '[ "$(echo "$parsed" | sed -n 2p)" = t ]' "$parsed"
check "--csv: a formula-like reason is defused, its ESC replaced" '[ "$(echo "$parsed" | sed -n 3p)" = "'"'"'=cmd|?[2J wipe" ]' "$parsed"
check "--csv: details as JSON in one cell" '[ "$(echo "$parsed" | sed -n 4p)" = "guard.abort needs the oncall role; audit-sh-bob is viewer" ]' "$parsed"
check "--csv: no raw escape byte" '! has_control "$(cat "$csv")"'

out=$(to audit --target "$M" --limit 2 2>"$RUN/audit-limit.err"); rc=$?
check "--limit 2: the newest two, and says there are more" '[ $rc -eq 0 ] && [ "$(users "$out")" = "audit-sh-carl audit-sh-alice " ] && grep -q "there are more" "$RUN/audit-limit.err"' "$out"
out=$(to audit --limit 0 2>&1); rc=$?
check "--limit 0: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "from 1 to 100000"' "$out"
out=$(to audit --json --csv 2>&1); rc=$?
check "--json with --csv: exit 2" '[ $rc -eq 2 ]' "$out"
out=$(to audit --target $'x\x1b' 2>&1); rc=$?
check "a filter with a control character: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "plain text" && ! has_control "$out"' "$out"
out=$(to audit --bogus 2>&1); rc=$?
check "unknown option: exit 2 with the usage" '[ $rc -eq 2 ] && echo "$out" | grep -q "usage: tradeops audit"' "$out"
out=$(to audit --help 2>&1); rc=$?
check "audit --help: exit 0, who may read it" '[ $rc -eq 0 ] && echo "$out" | grep -q "^usage: tradeops audit \[--since T\]" && echo "$out" | grep -q "Every registered operator may read"' "$out"
check "tradeops --help lists audit" '"$T" --help | grep -q "audit \[--since T\]"'
js=$(to audit --action operator.add --limit 1 --json 2>/dev/null)
check "records the program wrote itself are listed (operator.add at set-up)" '[ "$(json_get "$js" 0,action)" = operator.add ]' "$js"

if [ "$(id -u)" -eq 0 ]; then
    to operator add "$VIEWER" viewer >/dev/null
    to operator add "$TRADER" trader --accounts demo-2 >/dev/null
    out=$(TRADEOPS_AS_USER=$VIEWER to audit --target "$M" 2>&1); rc=$?
    check "a viewer may read the audit log" '[ $rc -eq 0 ] && echo "$out" | grep -q "^5 records$"' "$out"
    out=$(TRADEOPS_AS_USER=$TRADER to audit --target "$M" 2>&1); rc=$?
    check "a trader may read the audit log" '[ $rc -eq 0 ] && echo "$out" | grep -q "^5 records$"' "$out"
    out=$(TRADEOPS_AS_USER=audit-sh-nobody to audit 2>&1); rc=$?
    check "an unregistered user may not (exit 3)" '[ $rc -eq 3 ] && echo "$out" | grep -q "not registered"' "$out"
else
    for what in "a viewer may read the audit log" "a trader may read the audit log" \
        "an unregistered user may not (exit 3)"; do
        skip "$what" "needs root to act as another OS user"
    done
fi

echo "1..$n"
[ $fails -eq 0 ]
