#!/bin/bash
# guard_rules.sh - `tradeops account set-guard` and `show-guard` as an admin,
# a viewer and a trader would run them. Needs the services started by
# tests/run.sh (TRADEOPS_TEST_CONFIG). Works on an account of its own
# (guard-sh), removed again at the end with its rules (on delete cascade),
# so the demo's other tests never see them.
set -u
T=${BIN_TRADEOPS:?}
CFG=${TRADEOPS_TEST_CONFIG:?}
RUN=${TRADEOPS_TEST_RUN:?}
PG="$(cat "$RUN/pg.base") dbname=tradeops"
ACC=guard-sh
VIEWER=guard-sh-vic
TRADER=guard-sh-tina
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
audits() { q "select count(*) from audit_log where action = 'account.set_guard' and target = '$ACC' and outcome = '$1'"; }
rules_now() { q "select coalesce(preset, '-') || ' ' || max_loss_pct || ' ' || max_loss_mode from guard_rules where account_id = '$ACC'"; }

cleanup() {
    to operator remove "$VIEWER" >/dev/null 2>&1
    to operator remove "$TRADER" >/dev/null 2>&1
    q "delete from accounts where id = '$ACC'" >/dev/null
}
trap cleanup EXIT
cleanup

to account add "$ACC" --name "Guard CLI test" --exists-ok >/dev/null ||
    { nok "set-up: account $ACC"; echo "1..$n"; exit 1; }

check "tradeops --help lists set-guard and show-guard" \
    '"$T" --help | grep -q "account set-guard ID --preset NAME" && "$T" --help | grep -q "account show-guard ID \[--json\]"'
out=$(to account set-guard --help 2>&1); rc=$?
check "set-guard --help: exit 0, flags and presets" '[ $rc -eq 0 ] && echo "$out" | grep -q -- "--no-auto-close" && echo "$out" | grep -q "ftmo-2step"' "$out"

out=$(to account show-guard "$ACC" 2>&1); rc=$?
check "show-guard without rules: the defaults, said so" \
    '[ $rc -eq 0 ] && echo "$out" | grep -q "^guard rules of $ACC (defaults)" && echo "$out" | grep -q "20% trailing_intraday" && echo "$out" | grep -q "10 s countdown"' "$out"
js=$(to account show-guard "$ACC" --json 2>&1)
check "show-guard --json without rules: custom false, defaults" \
    '[ "$(json_get "$js" custom)" = false ] && [ "$(json_get "$js" rules,mode)" = trailing_intraday ] && [ "$(json_get "$js" rules,countdownS)" = 10 ] && [ "$(json_get "$js" rules,dailyLossPct)" = "" ]' "$js"

ok0=$(audits ok)
out=$(to account set-guard "$ACC" --preset ftmo-2step 2>&1); rc=$?
check "set-guard --preset ftmo-2step: exit 0, says what was set" \
    '[ $rc -eq 0 ] && echo "$out" | grep -q "^guard rules of $ACC set" && echo "$out" | grep -q "10% static" && echo "$out" | grep -q "00:00 Europe/Prague"' "$out"
js=$(to account show-guard "$ACC" --json 2>&1); rc=$?
check "show-guard --json: the preset's rules" \
    '[ $rc -eq 0 ] && [ "$(json_get "$js" custom)" = true ] && [ "$(json_get "$js" rules,preset)" = ftmo-2step ] && [ "$(json_get "$js" rules,mode)" = static ] && [ "$(json_get "$js" rules,maxLossPct)" = 10 ] && [ "$(json_get "$js" rules,dailyLossPct)" = 5 ] && [ "$(json_get "$js" rules,resetTz)" = Europe/Prague ] && [ "$(json_get "$js" rules,reset)" = 00:00 ]' "$js"
check "show-guard --json: who and when" '[ -n "$(json_get "$js" updatedBy)" ] && echo "$(json_get "$js" updatedAt)" | grep -q "^20[0-9-]*T[0-9:]*Z$"' "$js"
check "the account's drawdown limit follows the max loss" '[ "$(q "select dd_limit_pct from accounts where id = '"'$ACC'"'")" = 10 ]'
check "the change is audited with the rules" \
    '[ "$(audits ok)" = $((ok0 + 1)) ] && [ "$(q "select details #>> '"'{rules,mode}'"' from audit_log where action = '"'account.set_guard'"' and target = '"'$ACC'"' order by id desc limit 1")" = static ]'

out=$(to account set-guard "$ACC" --max-loss-pct 8 --mode trailing_eod --lock-pct 0 --reset 17:00 \
    --tz America/New_York --warn 0.25,0.5,0.75 --no-auto-close --blind-after 45 2>&1); rc=$?
check "set-guard with explicit flags: exit 0" '[ $rc -eq 0 ] && echo "$out" | grep -q "alert only, never close"' "$out"
js=$(to account show-guard "$ACC" --json 2>&1)
check "show-guard --json: every flag stored" \
    '[ "$(json_get "$js" rules,preset)" = "" ] && [ "$(json_get "$js" rules,mode)" = trailing_eod ] && [ "$(json_get "$js" rules,maxLossPct)" = 8 ] && [ "$(json_get "$js" rules,lockPct)" = 0 ] && [ "$(json_get "$js" rules,dailyLossPct)" = "" ] && [ "$(json_get "$js" rules,reset)" = 17:00 ] && [ "$(json_get "$js" rules,resetTz)" = America/New_York ] && [ "$(json_get "$js" rules,warn,2)" = 0.75 ] && [ "$(json_get "$js" rules,countdownS)" = "" ] && [ "$(json_get "$js" rules,autoClose)" = false ] && [ "$(json_get "$js" rules,blindAfterS)" = 45 ]' "$js"
check "alert only is stored as a NULL countdown" '[ "$(q "select countdown_s is null from guard_rules where account_id = '"'$ACC'"'")" = t ]'
check "the audit record of the change carries the previous rules" \
    '[ "$(q "select details #>> '"'{previous,preset}'"' from audit_log where action = '"'account.set_guard'"' and target = '"'$ACC'"' order by id desc limit 1")" = ftmo-2step ]'

out=$(to account set-guard "$ACC" --countdown 30 --preset ftmo-2step 2>&1); rc=$?
js=$(to account show-guard "$ACC" --json 2>&1)
check "flags override a preset (whatever their order); the result is custom" \
    '[ $rc -eq 0 ] && [ "$(json_get "$js" rules,countdownS)" = 30 ] && [ "$(json_get "$js" rules,dailyLossPct)" = 5 ] && [ "$(json_get "$js" rules,mode)" = static ] && [ "$(json_get "$js" rules,preset)" = "" ]' "$js"
out=$(to account show-guard "$ACC" 2>&1)
check "show-guard text: each rule on its own line" \
    'echo "$out" | grep -q "^  daily loss       5% below the balance at the reset" && echo "$out" | grep -q "^  at the floor     30 s countdown" && echo "$out" | grep -q "^  updated          "' "$out"

before=$(rules_now)
fail0=$(audits failed)
out=$(to account set-guard "$ACC" --preset ftmo 2>&1); rc=$?
check "unknown preset: exit 2 listing the presets" '[ $rc -eq 2 ] && echo "$out" | grep -q "unknown preset \"ftmo\"; presets are ftmo-2step, ftmo-1step, eod-trailing-lock, intraday-trailing"' "$out"
out=$(to account set-guard "$ACC" --preset ftmo-2step --countdown 5 --no-auto-close 2>&1); rc=$?
check "--countdown with --no-auto-close: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "contradict"' "$out"
out=$(to account set-guard "$ACC" 2>&1); rc=$?
check "no preset and no rules: exit 2 with the usage" '[ $rc -eq 2 ] && echo "$out" | grep -q "usage: tradeops account set-guard"' "$out"
out=$(to account set-guard "$ACC" --max-loss-pct 10 2>&1); rc=$?
check "--max-loss-pct without --mode: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q -- "--mode"' "$out"
for bad in "--reset 24:00" "--reset 7" "--max-loss-pct ten" "--countdown 3601" "--blind-after 1" \
    "--mode trailing" "--warn 0.5,x" "--daily-loss-pct nan"; do
    # shellcheck disable=SC2086
    out=$(to account set-guard "$ACC" --preset ftmo-2step $bad 2>&1); rc=$?
    check "bad value ($bad): exit 2 naming the flag" '[ $rc -eq 2 ] && echo "$out" | grep -q -- "${bad%% *}"' "$out"
done
out=$(to account set-guard "$ACC" --preset ftmo-2step --warn 0.8,0.5 2>&1); rc=$?
check "descending warnings: exit 2, says why, nothing changed" '[ $rc -eq 2 ] && echo "$out" | grep -q "ascending" && echo "$out" | grep -q "nothing changed"' "$out"
out=$(to account set-guard "$ACC" --preset ftmo-2step --max-loss-pct 100 2>&1); rc=$?
check "max loss 100%: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "max loss must be"' "$out"
out=$(to account set-guard "$ACC" --preset ftmo-2step --tz Europe/Atlantis 2>&1); rc=$?
check "unknown time zone: exit 2, says so" '[ $rc -eq 2 ] && echo "$out" | grep -q "unknown time zone \"Europe/Atlantis\""' "$out"
out=$(to account set-guard "$ACC" --preset ftmo-2step --tz $'\e]0;pwned\a' 2>&1); rc=$?
check "a time zone with escape sequences: exit 2, nothing raw on the terminal" '[ $rc -eq 2 ] && ! has_control "$out"' "$out"
check "none of those changed the rules" '[ "$(rules_now)" = "$before" ]' "$(rules_now) vs $before"
check "the rejected values were audited as failed (not the usage errors)" '[ "$(audits failed)" = $((fail0 + 4)) ]' "$(audits failed) vs $fail0"
out=$(to account set-guard nope-guard-sh --preset ftmo-2step 2>&1); rc=$?
check "unknown account: exit 1" '[ $rc -eq 1 ] && echo "$out" | grep -q "no account \"nope-guard-sh\""' "$out"
out=$(to account show-guard nope-guard-sh 2>&1); rc=$?
check "show-guard of an unknown account: exit 1" '[ $rc -eq 1 ] && echo "$out" | grep -q "no account"' "$out"
out=$(to account show-guard "$ACC" --bogus 2>&1); rc=$?
check "show-guard with an unknown option: exit 2" '[ $rc -eq 2 ]' "$out"

if [ "$(id -u)" -eq 0 ]; then
    to operator add "$VIEWER" viewer >/dev/null
    to operator add "$TRADER" trader --accounts demo-2 >/dev/null
    before=$(rules_now)
    ref0=$(audits refused)
    out=$(TRADEOPS_AS_USER=$VIEWER to account set-guard "$ACC" --preset ftmo-1step 2>&1); rc=$?
    check "a viewer: refused, exit 3, says the admin role is needed" '[ $rc -eq 3 ] && echo "$out" | grep -q "refused: account.set_guard needs the admin role; $VIEWER is viewer"' "$out"
    check "the refusal is audited, the rules unchanged" '[ "$(audits refused)" = $((ref0 + 1)) ] && [ "$(rules_now)" = "$before" ]' "$(audits refused) vs $ref0"
    out=$(TRADEOPS_AS_USER=$VIEWER to account show-guard "$ACC" 2>&1); rc=$?
    check "a viewer may read the rules" '[ $rc -eq 0 ] && echo "$out" | grep -q "^guard rules of $ACC$"' "$out"
    out=$(TRADEOPS_AS_USER=$TRADER to account show-guard "$ACC" 2>&1); rc=$?
    check "a trader may not read another account's rules (exit 3, audited)" '[ $rc -eq 3 ] && [ "$(q "select count(*) from audit_log where action = '"'account.show_guard'"' and outcome = '"'refused'"' and target = '"'$ACC'"'")" -ge 1 ]' "$out"
    out=$(TRADEOPS_AS_USER=$TRADER to account show-guard demo-2 --json 2>&1); rc=$?
    check "a trader reads their own account's rules" '[ $rc -eq 0 ] && [ "$(json_get "$out" account)" = demo-2 ]' "$out"
else
    for what in "a viewer: refused, exit 3, says the admin role is needed" \
        "the refusal is audited, the rules unchanged" "a viewer may read the rules" \
        "a trader may not read another account's rules (exit 3, audited)" \
        "a trader reads their own account's rules"; do
        skip "$what" "needs root to act as another OS user"
    done
fi

echo "1..$n"
[ $fails -eq 0 ]
