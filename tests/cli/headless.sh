#!/bin/bash
# headless.sh - the one-shot commands, driven as a script or cron job would.
# Needs the services started by tests/run.sh (TRADEOPS_TEST_CONFIG).
set -u
T=${BIN_TRADEOPS:?}
CFG=${TRADEOPS_TEST_CONFIG:?}
RUN=${TRADEOPS_TEST_RUN:?}
PG="$(cat "$RUN/pg.base") dbname=tradeops"
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $2"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }
to() { "$T" --config "$CFG" "$@"; }
# jsonb parses it, or the check fails: a real JSON parser, not a grep.
json_get() { echo "select (:'j'::jsonb) #>> '{$2}'" | psql -X -qtA "$PG" -v "j=$1"; }
sim_url=$(sed -n 's/^url = \(http.*\)/\1/p' "$CFG")
sim_tok=$(cat "$RUN/broker.token")
sim() { curl -s -o /dev/null -w '%{http_code}' -H "auth-token: $sim_tok" -X POST -d "$2" "$sim_url$1"; }

check "--version prints the version" '[ "$("$T" --version)" = "tradeops $(cat VERSION)" ]'
check "--help exits 0 and lists the commands" '"$T" --help | grep -q "positions \[--account ID\]"'

bad=$(mktemp); printf '[broker]\nurl = http://127.0.0.1:1\npoll_intervall_ms = 5\n' > "$bad"
out=$("$T" --config "$bad" status 2>&1); rc=$?
check "unknown config key: exit 2 naming file, line and allowed keys" \
    '[ $rc -eq 2 ] && echo "$out" | grep -q "$bad:3: unknown key \"poll_intervall_ms\"" && echo "$out" | grep -q "poll_interval_ms"' "$out"
printf '[redis]\ncache_ttl_s = forever\n' > "$bad"
out=$("$T" --config "$bad" status 2>&1); rc=$?
check "bad value: exit 2 with the allowed range" '[ $rc -eq 2 ] && echo "$out" | grep -q ":2: redis.cache_ttl_s must be a whole number from 1 to 3600"' "$out"
rm -f "$bad"
out=$("$T" --config /nonexistent.ini status 2>&1); rc=$?
check "missing --config file is an error" '[ $rc -eq 2 ] && echo "$out" | grep -q "cannot open"' "$out"

out=$(to status 2>&1); rc=$?
check "status: healthy, exit 0" '[ $rc -eq 0 ] && echo "$out" | grep -q "status at .*: ok"' "$out"
check "status lists the demo accounts" 'echo "$out" | grep -q "^demo-6 "' "$out"
js=$(to status --json 2>&1)
check "status --json is JSON with critical=false" '[ "$(json_get "$js" critical)" = "false" ]' "$js"
check "status --json: broker up" '[ "$(json_get "$js" broker,state)" = "up" ]'

out=$(to --broker-url http://127.0.0.1:1 status 2>&1); rc=$?
check "status with the broker down: exit 4, CRITICAL" '[ $rc -eq 4 ] && echo "$out" | grep -q "broker      DOWN"' "$out"
out=$(to --redis unix:/nonexistent/redis.sock status 2>&1); rc=$?
check "status with Redis down: not critical, says so" '[ $rc -eq 0 ] && echo "$out" | grep -q "redis       DOWN"' "$out"
out=$(to --pg "host=/nonexistent port=1 dbname=x" status 2>&1); rc=$?
check "status with PostgreSQL down: exit 4" '[ $rc -eq 4 ] && echo "$out" | grep -q "postgresql  DOWN"' "$out"
out=$(to --pg "host=/nonexistent port=1 dbname=x" positions 2>&1); rc=$?
check "PostgreSQL down at start: says how to start it" '[ $rc -eq 1 ] && echo "$out" | grep -q "make services-up"' "$out"

js=$(to positions --json --live)
check "positions --json: six demo accounts" '[ "$(json_get "$js" 5,id)" = "demo-6" ] && [ -z "$(json_get "$js" 6,id)" ]' "$js"
check "positions --json: each has a positions array" '[ -n "$(json_get "$js" 0,positions)" ]'
out=$(to positions --csv)
check "positions --csv has its header" 'echo "$out" | head -1 | grep -q "^account,ticket,symbol,side,volume"'
# The CSV's prices read back exactly as the JSON's (shortest round-trip form),
# and an unset stop loss is an empty cell, not "nan" or "-".
row=$(echo "$out" | sed -n 2p)
csv_open=$(echo "$row" | cut -d, -f6)
js=$(to positions --json)
json_open=$(json_get "$js" "0,positions,0,openPrice")
check "positions --csv prices equal the JSON ones" '[ -n "$csv_open" ] && [ "$(echo "select $csv_open::numeric = $json_open::numeric" | psql -X -qtA "$PG")" = "t" ]' "$csv_open vs $json_open"
check "positions --csv: no nan or dash in number columns" '! echo "$out" | cut -d, -f5-12 | grep -qiE "nan|-,|,-$"' "$out"
out=$(to positions --account demo-2)
check "positions --account narrows to one account" 'echo "$out" | grep -q "^demo-2 " && ! echo "$out" | grep -q "^demo-3 "' "$out"
out=$(to positions --account nope 2>&1); rc=$?
check "positions --account unknown: exit 1" '[ $rc -eq 1 ] && echo "$out" | grep -q "no account \"nope\""' "$out"

audit_count() { psql -X -qtA "$PG" -c "select count(*) from audit_log where $1"; }
added0=$(audit_count "action = 'operator.add' and outcome = 'ok' and target = 'carol'")
refused0=$(audit_count "action = 'operator.add' and outcome = 'refused' and os_user like '% as dave'")
check "operator add trader with accounts" 'to operator add carol trader --accounts demo-2,demo-5 >/dev/null'
check "operator add viewer" 'to operator add dave viewer >/dev/null'
out=$(to operator add erin trader --accounts demo-99 2>&1); rc=$?
check "operator add with an unknown account is refused" '[ $rc -eq 1 ] && echo "$out" | grep -q "does not exist"' "$out"
out=$(to operator add frank superuser 2>&1); rc=$?
check "unknown role: exit 2 listing the roles" '[ $rc -eq 2 ] && echo "$out" | grep -q "viewer, trader, oncall, admin"' "$out"
out=$(to operator list)
check "operator list shows them" 'echo "$out" | grep -q "^carol .*trader .*demo-2,demo-5" && echo "$out" | grep -q "^dave .*viewer"' "$out"
# Acting as other operators needs root (only root may set TRADEOPS_AS_USER,
# since root can become any user anyway); an ordinary developer skips these.
if [ "$(id -u)" -eq 0 ]; then
    js=$(TRADEOPS_AS_USER=carol to positions --json)
    check "a trader sees only their accounts (json)" '[ "$(json_get "$js" 0,id)" = "demo-2" ] && [ "$(json_get "$js" 1,id)" = "demo-5" ] && [ -z "$(json_get "$js" 2,id)" ]' "$js"
    out=$(TRADEOPS_AS_USER=carol to positions --csv | cut -d, -f1 | sort -u | tr '\n' ' ')
    check "a trader sees only their accounts (csv)" '[ "$out" = "account demo-2 demo-5 " ] || [ "$out" = "account demo-2 " ] || [ "$out" = "account demo-5 " ] || [ "$out" = "account " ]' "$out"
    out=$(TRADEOPS_AS_USER=carol to positions --account demo-3 2>&1); rc=$?
    check "a trader cannot name another account" '[ $rc -eq 1 ]' "$out"
    out=$(TRADEOPS_AS_USER=mallory to positions 2>&1); rc=$?
    check "an unknown user gets a clear refusal" '[ $rc -eq 3 ] && echo "$out" | grep -q "operator \"mallory\" is not registered"' "$out"
    out=$(TRADEOPS_AS_USER=dave to operator add eve admin 2>&1); rc=$?
    check "a viewer cannot add operators (exit 3)" '[ $rc -eq 3 ] && echo "$out" | grep -q "needs the admin role"' "$out"
    cnt=$(audit_count "action = 'operator.add' and outcome = 'refused' and os_user like '% as dave'")
    check "the refusal is audited" '[ "$cnt" = "$((refused0 + 1))" ]' "$cnt"
else
    out=$(TRADEOPS_AS_USER=carol to positions 2>&1); rc=$?
    check "TRADEOPS_AS_USER is refused for a non-root user" '[ $rc -eq 2 ] && echo "$out" | grep -q "only for root"' "$out"
    for what in "a trader sees only their accounts (json)" "a trader sees only their accounts (csv)" \
        "a trader cannot name another account" "an unknown user gets a clear refusal" \
        "a viewer cannot add operators (exit 3)" "the refusal is audited"; do
        skip "$what" "needs root to act as another OS user"
    done
fi
cnt=$(audit_count "action = 'operator.add' and outcome = 'ok' and target = 'carol'")
check "the addition is audited" '[ "$cnt" = "$((added0 + 1))" ]' "$cnt"
check "operator remove" 'to operator remove dave >/dev/null && ! to operator list | grep -q "^dave "'
to operator remove carol >/dev/null

# Hostile text from the broker never reaches a terminal through headless output.
code=$(sim /_sim/faults '{"hostile_text": true}')
if [ "$code" = "200" ]; then
    to positions --live >"$RUN/hostile.txt" 2>&1
    to positions --csv >>"$RUN/hostile.txt" 2>&1
    check "no ESC or C1 byte in text/csv output of hostile broker strings" '! LC_ALL=C grep -q $'"'"'[\x1b\x9b\x07]'"'"' "$RUN/hostile.txt"'
    js=$(to positions --json)
    check "json of hostile strings is still valid JSON" '[ -n "$(json_get "$js" 0,id)" ]'
    check "json of hostile strings has no raw ESC" '! printf "%s" "$js" | LC_ALL=C grep -q $'"'"'\x1b'"'"''
    sim /_sim/faults '{"hostile_text": false}' >/dev/null
else
    nok "simulator accepts hostile_text at run time" "HTTP $code"
fi

echo "1..$n"
[ $fails -eq 0 ]
