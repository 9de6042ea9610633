#!/bin/bash
# credentials.sh - `tradeops credentials set|keygen|list` and `tradeops
# account set-sync|show-sync` as an admin (and a viewer) would run them.
# Needs the services started by tests/run.sh (TRADEOPS_TEST_CONFIG, whose
# [sync] key_file the demo set-up created). Works on accounts of its own
# (cred-sh, cred-sh2) and removes them and their credentials at the end, so
# the demo's provider defaults (used by the other sync tests) stay as they
# were. Prints TAP lines.
set -u
T=${BIN_TRADEOPS:?}
CFG=${TRADEOPS_TEST_CONFIG:?}
RUN=${TRADEOPS_TEST_RUN:?}
PG="$(cat "$RUN/pg.base") dbname=tradeops"
ACC=cred-sh
ACC2=cred-sh2
VIEWER=cred-sh-vic
PASS='Sh-Pass-9731'
TV_SECRET="sh-user:$PASS"
TV_B64=$(printf '%s' "$TV_SECRET" | base64)
HOOK_SECRET='hook-key-sh-5550'
TOKEN='tok-secret-42'
TMP=$(mktemp -d /tmp/tradeops-cred-sh.XXXXXX)
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $2" | head -n 20; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }
to() { env -u TRADEOPS_SYNC_KEY "$T" --config "$CFG" "$@"; }
q() { psql -X -qtA "$PG" -c "$1"; }
json_get() { echo "select (:'j'::jsonb) #>> '{$2}'" | psql -X -qtA "$PG" -v "j=$1"; }
has_control() { LC_ALL=C grep -q $'[\x1b\x07\x9b]' <<<"$1"; }
creds() { q "select count(*) from sync_credentials where account_id in ('$ACC', '$ACC2')"; }
sealed() { q "select coalesce(string_agg(encode(ciphertext, 'hex') || encode(nonce, 'hex'), ','), '') from sync_credentials where account_id = '$ACC'"; }
audits() { q "select count(*) from audit_log where action = '$1' and target = '$2' and outcome = '$3'"; }

cleanup() {
    to operator remove "$VIEWER" >/dev/null 2>&1
    q "delete from sync_credentials where account_id in ('$ACC', '$ACC2')" >/dev/null
    q "delete from accounts where id in ('$ACC', '$ACC2')" >/dev/null
    tmux -L "cred-sh-$$" kill-server >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
cleanup
TMP=$(mktemp -d /tmp/tradeops-cred-sh.XXXXXX)

to account add "$ACC" --name "Credentials CLI test" --exists-ok >/dev/null &&
    to account add "$ACC2" --name "Credentials CLI test 2" --exists-ok >/dev/null ||
    { nok "set-up: accounts $ACC, $ACC2"; echo "1..$n"; exit 1; }

check "tradeops --help lists credentials and set-sync" \
    '"$T" --help | grep -q "credentials set PROVIDER \[--account ID\]" && "$T" --help | grep -q "account set-sync ID PROVIDER" && "$T" --help | grep -q "account show-sync ID"'

# ---- set ----
ok0=$(audits credentials.set "tradervue/$ACC" ok)
out=$(printf '%s\n' "$TV_SECRET" | to credentials set tradervue --account "$ACC" 2>&1); rc=$?
check "set tradervue from stdin: exit 0, says where and under which key" \
    '[ $rc -eq 0 ] && echo "$out" | grep -q "stored the tradervue credentials of $ACC (sealed under key [0-9a-f]\{16\})"' "$out"
check "set does not echo the secret" '! echo "$out" | grep -q "$PASS"' "$out"
check "one sealed row for the account" '[ "$(creds)" = 1 ]'
check "the change is audited as credentials.set on tradervue/$ACC" '[ "$(audits credentials.set "tradervue/$ACC" ok)" = $((ok0 + 1)) ]'
check "the audit record names the key id, never the secret" \
    '[ -n "$(q "select details->>'"'key_id'"' from audit_log where action = '"'credentials.set'"' and target = '"'tradervue/$ACC'"' order by id desc limit 1")" ]'
out=$(printf '%s\n' "$HOOK_SECRET" | to credentials set webhook --account "$ACC" 2>&1); rc=$?
check "set webhook: exit 0" '[ $rc -eq 0 ]' "$out"

out=$(to credentials list 2>&1); rc=$?
check "list: both rows, their key, who set them" \
    '[ $rc -eq 0 ] && echo "$out" | grep -qE "^tradervue +$ACC +[0-9a-f]{16} " && echo "$out" | grep -qE "^webhook +$ACC +[0-9a-f]{16} "' "$out"
check "list shows no secret" '! echo "$out" | grep -q -e "$PASS" -e "$HOOK_SECRET" -e "$TV_B64"' "$out"
js=$(to credentials list --json 2>&1)
check "list --json: the account's row, configuredKey true" \
    '[ "$(echo "select count(*) from jsonb_array_elements(:'"'j'"'::jsonb) e where e->>'"'account'"' = '"'$ACC'"' and (e->>'"'configuredKey'"')::boolean" | psql -X -qtA "$PG" -v "j=$js")" = 2 ]' "$js"

# ---- nothing in clear at rest ----
dump=$(pg_dump --data-only --table=sync_credentials --table=audit_log "$PG" 2>&1); rc=$?
check "pg_dump of the credentials and the audit log: no secret, no base64, no password" \
    '[ $rc -eq 0 ] && echo "$dump" | grep -q "$ACC" && ! echo "$dump" | grep -q -e "$PASS" -e "$HOOK_SECRET" -e "$TV_B64"' "$(echo "$dump" | grep -e "$PASS" -e "$HOOK_SECRET" | head -n 3)"
txt=$(q "select string_agg(row_to_json(c)::text, ' ') from sync_credentials c")
hex=$(printf '%s' "$PASS" | od -An -tx1 | tr -d ' \n')
check "the table as text holds neither the secret nor its hex" \
    '! echo "$txt" | grep -q -e "$PASS" -e "$hex"' "$txt"
check "the audit log as text holds no secret" \
    '! q "select string_agg(row_to_json(a)::text, '"' '"') from audit_log a" | grep -q -e "$PASS" -e "$HOOK_SECRET"'

# ---- refusals: nothing stored ----
before=$(sealed)
out=$(printf '%s\n' "other:pass-x" | to --set "sync.key_file=$TMP/missing.key" credentials set tradervue --account "$ACC" 2>&1); rc=$?
check "key file missing: exit 1, says which file, nothing stored" \
    '[ $rc -eq 1 ] && echo "$out" | grep -q "cannot read the credentials key file $TMP/missing.key" && echo "$out" | grep -q "nothing stored" && [ "$(sealed)" = "$before" ]' "$out"
out=$(printf '%s\n' "other:pass-x" | to --set "sync.key_file=$TMP/missing.key" credentials set tradervue --account "$ACC2" 2>&1); rc=$?
check "key file missing, new account: no row" '[ $rc -eq 1 ] && [ "$(creds)" = 2 ]' "$out"
cp "$(sed -n 's/^key_file = //p' "$CFG")" "$TMP/open.key" && chmod 640 "$TMP/open.key"
out=$(printf '%s\n' "other:pass-x" | to --set "sync.key_file=$TMP/open.key" credentials set tradervue --account "$ACC" 2>&1); rc=$?
check "group-readable key file: exit 1, says chmod 600, nothing stored" \
    '[ $rc -eq 1 ] && echo "$out" | grep -q "chmod 600 $TMP/open.key" && [ "$(sealed)" = "$before" ]' "$out"
printf 'SECRETCONTENT not a key\n' >"$TMP/bad.key"; chmod 600 "$TMP/bad.key"
out=$(printf '%s\n' "other:pass-x" | to --set "sync.key_file=$TMP/bad.key" credentials set tradervue --account "$ACC" 2>&1); rc=$?
check "a key file that is not a key: exit 1, its content not quoted" \
    '[ $rc -eq 1 ] && echo "$out" | grep -q "64 hex digits" && ! echo "$out" | grep -q SECRETCONTENT && [ "$(sealed)" = "$before" ]' "$out"
out=$(printf '\n' | to credentials set webhook --account "$ACC" 2>&1); rc=$?
check "an empty secret: exit 2, nothing stored" '[ $rc -eq 2 ] && echo "$out" | grep -q "empty" && [ "$(sealed)" = "$before" ]' "$out"
out=$(printf 'no-colon-here\n' | to credentials set tradervue --account "$ACC" 2>&1); rc=$?
check "tradervue without user:password: exit 2, not echoed" \
    '[ $rc -eq 2 ] && echo "$out" | grep -q "user:password" && ! echo "$out" | grep -q no-colon-here && [ "$(sealed)" = "$before" ]' "$out"
out=$(printf 'ab\x1b[31mcd\n' | to credentials set webhook --account "$ACC" 2>&1); rc=$?
check "a control character: exit 2, nothing raw on the terminal" \
    '[ $rc -eq 2 ] && echo "$out" | grep -q "control character" && ! has_control "$out" && [ "$(sealed)" = "$before" ]' "$out"
out=$(head -c 1025 /dev/zero | tr '\0' x | to credentials set webhook --account "$ACC" 2>&1); rc=$?
check "a secret over 1024 bytes: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "longer than 1024" && [ "$(sealed)" = "$before" ]' "$out"
out=$(printf 'a:b\n' | to credentials set csv 2>&1); rc=$?
check "csv has no credentials: exit 2" '[ $rc -eq 2 ]' "$out"
out=$(printf 'a:b\n' | to credentials set tradervue --account nope-cred-sh 2>&1); rc=$?
check "an unknown account: exit 1, nothing stored" \
    '[ $rc -eq 1 ] && echo "$out" | grep -q "no account" && [ "$(q "select count(*) from sync_credentials where account_id = '"'nope-cred-sh'"'")" = 0 ]' "$out"

other=$(printf '%064d' 7)
out=$(TRADEOPS_SYNC_KEY=$other "$T" --config "$CFG" credentials list 2>&1); rc=$?
check "list under another key marks rows that will not open" \
    '[ $rc -eq 0 ] && echo "$out" | grep -E "^tradervue +$ACC " | grep -q "another key"' "$out"

# ---- keygen ----
out=$(to credentials keygen "$TMP/new.key" 2>&1); rc=$?
check "keygen: exit 0, mode 600, 64 hex digits" \
    '[ $rc -eq 0 ] && [ "$(stat -c %a "$TMP/new.key")" = 600 ] && grep -qE "^[0-9a-f]{64}$" "$TMP/new.key" && echo "$out" | grep -q "key id [0-9a-f]\{16\}"' "$out"
sum=$(sha256sum <"$TMP/new.key")
out=$(to credentials keygen "$TMP/new.key" 2>&1); rc=$?
check "keygen never overwrites a key" '[ $rc -eq 1 ] && echo "$out" | grep -q "already exists" && [ "$(sha256sum <"$TMP/new.key")" = "$sum" ]' "$out"

# ---- a terminal: prompt, no echo ----
if command -v tmux >/dev/null; then
    S="cred-sh-$$"
    tmux -L "$S" -f /dev/null new-session -d -s c -x 120 -y 10 \
        "env -u TRADEOPS_SYNC_KEY '$T' --config '$CFG' credentials set webhook --account '$ACC2'; echo EXIT=\$?; sleep 30"
    for _ in $(seq 100); do tmux -L "$S" capture-pane -p -t c | grep -q "not echoed" && break; sleep 0.1; done
    tmux -L "$S" send-keys -t c "$HOOK_SECRET" Enter
    for _ in $(seq 100); do tmux -L "$S" capture-pane -p -t c | grep -q "EXIT=" && break; sleep 0.1; done
    pane=$(tmux -L "$S" capture-pane -p -t c)
    check "on a terminal: a prompt on stderr, the typed secret not echoed, stored" \
        'echo "$pane" | grep -q "secret for webhook/$ACC2 (not echoed" && ! echo "$pane" | grep -q "$HOOK_SECRET" && echo "$pane" | grep -q "EXIT=0" && [ "$(creds)" = 3 ]' "$pane"
    tmux -L "$S" kill-server >/dev/null 2>&1
else
    skip "on a terminal: a prompt on stderr, the typed secret not echoed, stored" "tmux not installed"
fi

# ---- set-sync / show-sync ----
out=$(to account set-sync "$ACC" tradervue --tag "$ACC" --multiplier 'EURUSD=100000' --multiplier '*=1' 2>&1); rc=$?
check "set-sync tradervue: exit 0" '[ $rc -eq 0 ] && echo "$out" | grep -q "journal target tradervue of $ACC set (enabled)"' "$out"
check "stored settings: tag and multipliers" \
    '[ "$(q "select settings->>'"'account_tag'"' || '"' '"' || (settings->'"'multipliers'"'->>'"'EURUSD'"') from sync_targets where account_id = '"'$ACC'"' and provider = '"'tradervue'"'")" = "$ACC 100000" ]'
out=$(to account set-sync "$ACC" tradervue --multiplier 'XAUUSD=100' --disable 2>&1); rc=$?
check "set-sync again keeps what it was not told and disables" \
    '[ $rc -eq 0 ] && [ "$(q "select enabled::text || '"' '"' || (settings->>'"'account_tag'"') || '"' '"' || (settings->'"'multipliers'"'->>'"'XAUUSD'"') from sync_targets where account_id = '"'$ACC'"' and provider = '"'tradervue'"'")" = "false $ACC 100" ]' "$out"
url="https://hooks.example.com/T0/$TOKEN?sig=$TOKEN"
out=$(to account set-sync "$ACC" webhook --url "$url" 2>&1); rc=$?
check "set-sync webhook: exit 0, the URL shown without its token" \
    '[ $rc -eq 0 ] && echo "$out" | grep -q "https://hooks.example.com/\*\*\*\*" && ! echo "$out" | grep -q "$TOKEN"' "$out"
out=$(to account set-sync "$ACC" csv --path "$TMP/j.csv" --format roundtrip 2>&1); rc=$?
check "set-sync csv: exit 0" '[ $rc -eq 0 ]' "$out"
out=$(to account show-sync "$ACC" 2>&1); rc=$?
check "show-sync: three targets, credentials source, no token" \
    '[ $rc -eq 0 ] && echo "$out" | grep -qE "^  tradervue +disabled" && echo "$out" | grep -qE "^  webhook +enabled" && echo "$out" | grep -qE "^  csv +enabled" && echo "$out" | grep -q "credentials: the account.s own" && ! echo "$out" | grep -q "$TOKEN"' "$out"
js=$(to account show-sync "$ACC" --json 2>&1)
check "show-sync --json: the csv format and the masked url" \
    '[ "$(json_get "$js" 0,settings,format)" = roundtrip ] && [ "$(json_get "$js" 2,settings,url)" = "https://hooks.example.com/****" ]' "$js"
check "the audit of set-sync never holds the token" \
    '[ "$(audits account.set_sync "$ACC" ok)" -ge 4 ] && ! q "select string_agg(details::text, '"' '"') from audit_log where action = '"'account.set_sync'"'" | grep -q "$TOKEN"'
s0=$(q "select count(*) from sync_targets where account_id = '$ACC'")
out=$(to account set-sync "$ACC" csv --path relative.csv 2>&1); rc=$?
check "csv with a relative path: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "absolute"' "$out"
out=$(to account set-sync "$ACC" tradervue --url https://x.example/ 2>&1); rc=$?
check "a flag of another provider: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q -- "--url does not apply to tradervue"' "$out"
out=$(to account set-sync "$ACC" tradervue --multiplier 'EURUSD=-5' 2>&1); rc=$?
check "a multiplier that is not positive: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "positive"' "$out"
out=$(to account set-sync "$ACC2" webhook 2>&1); rc=$?
check "a new webhook target without --url: exit 2, audited as failed" \
    '[ $rc -eq 2 ] && echo "$out" | grep -q "needs --url" && [ "$(audits account.set_sync "$ACC2" failed)" -ge 1 ]' "$out"
out=$(to account set-sync "$ACC" webhook --url 'javascript:alert(1)' 2>&1); rc=$?
check "a URL that is not http(s): exit 2" '[ $rc -eq 2 ]' "$out"
out=$(to account set-sync nope-cred-sh csv --path /tmp/x.csv 2>&1); rc=$?
check "set-sync on an unknown account: exit 1" '[ $rc -eq 1 ] && echo "$out" | grep -q "no account"' "$out"
out=$(to account set-sync "$ACC" excel 2>&1); rc=$?
check "an unknown provider: exit 2" '[ $rc -eq 2 ]' "$out"
check "none of those changed the targets" \
    '[ "$(q "select count(*) from sync_targets where account_id = '"'$ACC'"'")" = "$s0" ] && [ "$(q "select settings->>'"'path'"' from sync_targets where account_id = '"'$ACC'"' and provider = '"'csv'"'")" = "$TMP/j.csv" ]'

# ---- roles ----
if [ "$(id -u)" -eq 0 ]; then
    to operator add "$VIEWER" viewer >/dev/null
    before=$(sealed)
    out=$(printf '%s\n' "x:y-zzzz" | TRADEOPS_AS_USER=$VIEWER to credentials set tradervue --account "$ACC" 2>&1); rc=$?
    check "a viewer may not set credentials: exit 3, audited, nothing stored" \
        '[ $rc -eq 3 ] && echo "$out" | grep -q "credentials.set needs the admin role" && [ "$(audits credentials.set "tradervue/$ACC" refused)" -ge 1 ] && [ "$(sealed)" = "$before" ]' "$out"
    out=$(TRADEOPS_AS_USER=$VIEWER to account set-sync "$ACC" csv --path /tmp/v.csv 2>&1); rc=$?
    check "a viewer may not set-sync: exit 3" '[ $rc -eq 3 ] && [ "$(audits account.set_sync "$ACC" refused)" -ge 1 ]' "$out"
    out=$(TRADEOPS_AS_USER=$VIEWER to credentials list 2>&1); rc=$?
    check "a viewer may not list credentials: exit 3" '[ $rc -eq 3 ]' "$out"
    out=$(TRADEOPS_AS_USER=$VIEWER to account show-sync "$ACC" 2>&1); rc=$?
    check "a viewer may read the targets" '[ $rc -eq 0 ] && echo "$out" | grep -q "journal targets of $ACC"' "$out"
else
    for what in "a viewer may not set credentials: exit 3, audited, nothing stored" \
        "a viewer may not set-sync: exit 3" "a viewer may not list credentials: exit 3" \
        "a viewer may read the targets"; do
        skip "$what" "needs root to act as another OS user"
    done
fi

echo "1..$n"
[ $fails -eq 0 ]
