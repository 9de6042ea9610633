#!/bin/bash
# digest.sh - `tradeops digest` as an admin or a script would run it: add
# (a bad zone, a bad template naming its field), list, preview, send (with
# the role check and audit record of the console's N), enable/disable,
# remove. Needs the services started by tests/run.sh. The digests and the
# account are this script's own (dg-sh-*), removed at the end.
set -u
T=${BIN_TRADEOPS:?}
CFG=${TRADEOPS_TEST_CONFIG:?}
RUN=${TRADEOPS_TEST_RUN:?}
PG="$(cat "$RUN/pg.base") dbname=tradeops"
A=dg-sh-1
ONCALL=dg-sh-olga
TPL=$(mktemp)
BAD=$(mktemp)
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $2" | head -20; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }
to() { "$T" --config "$CFG" "$@" </dev/null; }
as() { local u=$1; shift; TRADEOPS_AS_USER=$u "$T" --config "$CFG" "$@" </dev/null; }
q() { psql -X -qtA "$PG" -c "$1"; }

cleanup() {
    to operator remove "$ONCALL" >/dev/null 2>&1
    q "delete from digests where name like 'dg-sh-%'" >/dev/null
    q "delete from accounts where id = '$A'" >/dev/null
    rm -f "$TPL" "$BAD"
}
trap cleanup EXIT
cleanup
TPL=$(mktemp)
BAD=$(mktemp)

to account add "$A" --name "Digest <b>&" --exists-ok >/dev/null || nok "set-up: account"
to operator add "$ONCALL" oncall >/dev/null || nok "set-up: operator"
printf '{{account}}: {{n_trades}} trades, net {{net_profit}}\n' >"$TPL"
printf 'line one\nwin {{win_rat}}\n' >"$BAD"

out=$(to digest add dg-sh-bad --kind daily --at 18:00 --tz Mars/Olympus --template "$TPL" --to slack 2>&1)
rc=$?
check "add with a bad zone exits 2 naming it" '[ $rc -eq 2 ] && grep -q "Mars/Olympus" <<<"$out"' "rc=$rc $out"
out=$(to digest add dg-sh-bad --kind daily --at 18:00 --tz UTC --template "$BAD" --to slack 2>&1)
rc=$?
check "add with an unknown field exits 2 naming it and its line" \
    '[ $rc -eq 2 ] && grep -q "win_rat" <<<"$out" && grep -q "line 2:" <<<"$out"' "rc=$rc $out"
check "nothing stored for the refused ones" '[ "$(q "select count(*) from digests where name = '"'"'dg-sh-bad'"'"'")" = 0 ]'

out=$(to digest add dg-sh-day --kind daily --at 18:00 --tz Europe/Prague --accounts "$A" --template "$TPL" --to telegram,slack 2>&1)
check "add a daily digest" '[ $? -eq 0 ]' "$out"
out=$(as "$ONCALL" digest add dg-sh-x --kind daily --at 18:00 --tz UTC --template "$TPL" --to slack 2>&1)
rc=$?
check "add by an oncall is refused (3)" '[ $rc -eq 3 ]' "rc=$rc $out"

out=$(to digest list 2>&1)
check "list shows it with its schedule" 'grep -q "dg-sh-day.*daily 18:00 Europe/Prague" <<<"$out"' "$out"
out=$(to digest list --json 2>&1)
check "list --json" '[ "$(echo "$out" | psql -X -qtA "$PG" -c "select 1" >/dev/null; echo "select count(*) from jsonb_array_elements(:'"'"'j'"'"'::jsonb) e where e->>'"'"'name'"'"' = '"'"'dg-sh-day'"'"'" | psql -X -qtA "$PG" -v "j=$out")" = 1 ]' "$out"

out=$(to digest preview dg-sh-day 2>&1)
check "preview prints the text with the account name as is" \
    'grep -q "^Digest <b>&: 0 trades, net 0.00$" <<<"$out"' "$out"
out=$(as "$ONCALL" digest preview dg-sh-day 2>&1)
rc=$?
check "preview by an oncall is refused (3)" '[ $rc -eq 3 ]' "rc=$rc $out"

out=$(as "$ONCALL" digest send dg-sh-day 2>&1)
rc=$?
check "send by an oncall is refused (3) and audited" \
    '[ $rc -eq 3 ] && [ "$(q "select count(*) from audit_log where action = '"'"'digest.send'"'"' and outcome = '"'"'refused'"'"'")" -ge 1 ]' "rc=$rc $out"
out=$(to digest send dg-sh-day 2>&1)
rc=$?
runs=$(q "select count(*) from digest_runs where digest = 'dg-sh-day' and manual")
# The test servers' configuration (data/dev/services.sh) sends
# notifications to the simulator's Telegram and Slack: the post is queued
# for both, one per account of the digest.
check "send is audited and queued for telegram and slack" \
    '[ $rc -eq 0 ] && [ "$runs" = 1 ] && [ "$(q "select count(*) from audit_log where action = '"'"'digest.send'"'"' and outcome = '"'"'ok'"'"'")" -ge 1 ] && [ "$(q "select string_agg(destination, '"'"','"'"' order by destination) from notifications where rule like '"'"'digest%'"'"' and title like '"'"'dg-sh-day%'"'"'")" = slack,telegram ]' "rc=$rc runs=$runs $out $(q "select destination, rule, title from notifications order by id desc limit 4")"

out=$(to digest add dg-sh-grp --kind weekly --weekday Fri --at 17:00 --tz UTC --group "Whole platform" --template "$TPL" --to slack 2>&1)
check "add a weekly digest for a group of every account" '[ $? -eq 0 ]' "$out"
out=$(to digest list 2>&1)
check "list names the group" 'grep -q "dg-sh-grp.*group Whole platform: all$" <<<"$out"' "$out"
out=$(to digest list --json 2>&1)
check "list --json gives the group apart from the accounts" \
    '[ "$(psql -X -qtA "$PG" -v "j=$out" <<<"select e->>'"'"'group'"'"' || '"'"'|'"'"' || (e->>'"'"'accounts'"'"') from jsonb_array_elements(:'"'"'j'"'"'::jsonb) e where e->>'"'"'name'"'"' = '"'"'dg-sh-grp'"'"'")" = "Whole platform|all" ]' "$out"
out=$(to digest preview dg-sh-grp 2>&1)
check "a group's preview is one text under the group's name" \
    'grep -q "^dg-sh-grp: Whole platform, week to" <<<"$out" && grep -q "^Whole platform: [0-9]* trades" <<<"$out"' "$out"
out=$(to digest preview dg-sh-grp --account "$A" 2>&1)
rc=$?
check "a group's preview for one account exits 1 and says why" \
    '[ $rc -eq 1 ] && grep -q "without an account" <<<"$out"' "rc=$rc $out"
out=$(to digest add dg-sh-grpmsg --kind message --at 09:00 --tz UTC --group Desk --template "$TPL" --to slack 2>&1)
rc=$?
check "a message with --group exits 2" '[ $rc -eq 2 ] && grep -q -- "--group" <<<"$out"' "rc=$rc $out"

check "disable" 'to digest disable dg-sh-day >/dev/null && [ "$(q "select enabled from digests where name = '"'"'dg-sh-day'"'"'")" = f ]'
check "enable" 'to digest enable dg-sh-day >/dev/null && [ "$(q "select enabled from digests where name = '"'"'dg-sh-day'"'"'")" = t ]'
check "remove" 'to digest remove dg-sh-day >/dev/null && [ "$(q "select count(*) from digests where name = '"'"'dg-sh-day'"'"'")" = 0 ]'
to digest remove dg-sh-day >/dev/null 2>&1
rc=$?
check "remove of an unknown digest exits 1" '[ $rc -eq 1 ]'
to digest frobnicate >/dev/null 2>&1
rc=$?
check "an unknown subcommand exits 2" '[ $rc -eq 2 ]'
check "add, remove, enable, disable are audited" \
    '[ "$(q "select count(distinct action) from audit_log where action in ('"'"'digest.add'"'"', '"'"'digest.remove'"'"', '"'"'digest.enable'"'"', '"'"'digest.disable'"'"')")" = 4 ]'

echo "1..$n"
[ "$fails" -eq 0 ]
