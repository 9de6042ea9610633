#!/bin/bash
# report.sh - `tradeops report --trades-csv`, the offline report, as a script
# would run it: every format to stdout and to --output, exit codes, nothing
# on stdout when the input is bad, and a generated 1,000,000-row file.
#
# The report needs no database: every run here points --pg at a port where
# nothing listens and reads no configuration file. The test's PostgreSQL
# (tests/run.sh) is used only as a strict JSON parser (jsonb), as in the
# other shell tests. The hand-written CSV's values are worked out in
# tests/test_report.c.
set -u
T=${BIN_TRADEOPS:?}
RUN=${TRADEOPS_TEST_RUN:?}
PG="$(cat "$RUN/pg.base") dbname=postgres"
DIR="$RUN/report-sh"
WEEK=tests/data/report/week.csv
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "# $(echo "$2" | head -c 2000)"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }
# No configuration, no database reachable.
rep() { XDG_CONFIG_HOME="$DIR/no-config" "$T" --pg "host=127.0.0.1 port=1 connect_timeout=1" report "$@"; }
json_get() { echo "select (:'j'::jsonb) #>> '{$2}'" | psql -X -qtA "$PG" -v "j=$1"; }
has_control() { LC_ALL=C grep -q $'[\x1b\x07\x9b]' <<<"$1"; }

rm -rf "$DIR"
mkdir -p "$DIR/no-config"
trap 'rm -rf "$DIR"' EXIT

# ---- json, csv, text, html to stdout
js=$(rep --trades-csv "$WEEK" --starting-balance 10000 --format json 2>"$DIR/err"); rc=$?
check "json: exit 0 with no database and no configuration" '[ $rc -eq 0 ] && [ ! -s "$DIR/err" ]' "$(cat "$DIR/err")"
check "json: strict JSON, overall net profit 150, 5 trades" \
    '[ "$(json_get "$js" overall,net_profit)" = 150 ] && [ "$(json_get "$js" overall,n_trades)" = 5 ]' "$js"
check "json: by_account and by_strategy by default, no by_symbol" \
    '[ "$(json_get "$js" by_account,acc-b,profit_factor)" = 8 ] && [ "$(json_get "$js" by_strategy,trend,profit_factor)" = Infinity ] && [ -z "$(json_get "$js" by_symbol)" ]' "$js"
check "json: null dates and NaN strings" \
    '[ -z "$(json_get "$js" by_account,acc-a,max_drawdown_recovery_date)" ] && [ "$(json_get "$js" by_strategy,trend,calmar)" = NaN ]' "$js"
js=$(rep --trades-csv "$WEEK" --starting-balance 10000 --format json --groups account,strategy,symbol); rc=$?
check "json --groups ...,symbol: by_symbol" '[ $rc -eq 0 ] && [ "$(json_get "$js" by_symbol,XAUUSD,net_profit)" = 350 ]' "$js"
js=$(rep --trades-csv "$WEEK" --starting-balance 10000 --format json --groups symbol); rc=$?
check "json --groups symbol: only by_symbol" '[ $rc -eq 0 ] && [ -z "$(json_get "$js" by_account)" ] && [ -n "$(json_get "$js" by_symbol,EURUSD)" ]' "$js"

out=$(rep --trades-csv "$WEEK" --starting-balance 10000 --format csv); rc=$?
check "csv: header and one row per scope" \
    '[ $rc -eq 0 ] && [ "$(echo "$out" | head -1 | cut -d, -f1-4)" = "scope,name,n_trades,n_wins" ] && [ "$(echo "$out" | wc -l)" -eq 6 ]' "$out"
check "csv: the quoted strategy row" 'echo "$out" | grep -q "^strategy,\"mean,rev\",2,0,2,"' "$out"

out=$(rep --trades-csv "$WEEK" --starting-balance 10000); rc=$?
check "text (default): period and a table" \
    '[ $rc -eq 0 ] && echo "$out" | grep -q "^Period 2024-01-01 to 2024-01-06" && echo "$out" | grep -q "^overall .* 40.00% .* 150.00"' "$out"

out=$(rep --trades-csv "$WEEK" --starting-balance 10000 --format html); rc=$?
check "html: one page with an inline SVG and the warning" \
    '[ $rc -eq 0 ] && echo "$out" | grep -q "<svg" && echo "$out" | grep -q "Past performance does not guarantee future results" && echo "$out" | tail -1 | grep -q "</html>"' "$out"
check "html: no script and no link" '! echo "$out" | grep -qiE "<script|http|href=|src=\"|url\("' "$out"
if command -v xmllint >/dev/null; then
    # Written as well-formed XML too (void elements closed), so an XML
    # parser proves every tag is balanced and every string escaped.
    check "html: well-formed (xmllint)" 'echo "$out" | xmllint --noout - 2>"$DIR/lint" && [ ! -s "$DIR/lint" ]' "$(cat "$DIR/lint" 2>/dev/null)"
fi

printf '%s\n%s\n' "close_time,account,strategy,symbol,pnl" \
    "2024-01-01T10:00:00Z,\"<script>alert('x')</script>&\"\"\",\"<a href=\"\"https://evil\"\">s</a>\",X,5" >"$DIR/hostile-ok.csv"
out=$(rep --trades-csv "$DIR/hostile-ok.csv" --starting-balance 10000 --format html); rc=$?
check "html: hostile names escaped, no script, no link, still well-formed" \
    '[ $rc -eq 0 ] && ! echo "$out" | grep -qiE "<script|<a |href=\"" && echo "$out" | grep -qF "&lt;script&gt;alert(&#39;x&#39;)" && echo "$out" | xmllint --noout - 2>/dev/null' "$out"

# ---- --output
rep --trades-csv "$WEEK" --starting-balance 10000 --format html --output "$DIR/page.html" >"$DIR/out" 2>&1; rc=$?
check "--output: exit 0, nothing on stdout, the page written" \
    '[ $rc -eq 0 ] && [ ! -s "$DIR/out" ] && grep -q "</html>" "$DIR/page.html"' "$(cat "$DIR/out")"
check "--output: no temporary file left beside it" '! ls -A "$DIR" | grep -q "^\.page\.html\."' "$(ls -A "$DIR")"
rep --trades-csv "$WEEK" --starting-balance 10000 --format json --output "$DIR/r.json"; rc=$?
check "--output json equals stdout json" '[ $rc -eq 0 ] && [ "$(cat "$DIR/r.json")" = "$(rep --trades-csv "$WEEK" --starting-balance 10000 --format json)" ]'
cat "$WEEK" | rep --trades-csv - --starting-balance 10000 --format csv >"$DIR/stdin.csv"; rc=$?
check "--trades-csv - reads stdin" '[ $rc -eq 0 ] && grep -q "^account,acc-a,3," "$DIR/stdin.csv"' "$(cat "$DIR/stdin.csv")"

# ---- bad input: a message naming the line, exit 1, nothing on stdout
hdr="close_time,account,strategy,symbol,pnl"
bad() { # name, file content, expected message part
    printf '%b' "$2" >"$DIR/bad.csv"
    local o e r want=$3
    o=$(rep --trades-csv "$DIR/bad.csv" --starting-balance 10000 --format json 2>"$DIR/err"); r=$?
    e=$(cat "$DIR/err")
    check "bad input ($1): exit 1, \"$3\", nothing on stdout" \
        '[ $r -eq 1 ] && [ -z "$o" ] && echo "$e" | grep -qF -- "$want"' "rc $r; stdout: $o; stderr: $e"
}
bad "empty file" "" "bad.csv:1: empty file"
bad "missing column" "close_time,account,strategy,pnl\n2024-01-01T10:00:00Z,a,s,1\n" "bad.csv:1: header: column 4"
bad "extra column" "$hdr,note\n" "bad.csv:1: header: 6 columns"
bad "bad number" "$hdr\n2024-01-01T10:00:00Z,a,s,X,1\n2024-01-01T11:00:00Z,a,s,X,1.2.3\n" "bad.csv:3: pnl \"1.2.3\""
bad "bad time zone" "$hdr\n2024-01-01T10:00:00+25:00,a,s,X,1\n" "bad.csv:2: close_time"
bad "no time zone" "$hdr\n2024-01-01T10:00:00Z,a,s,X,1\n2024-01-01T10:00:00,a,s,X,1\n" "bad.csv:3: close_time \"2024-01-01T10:00:00\": no time zone"
bad "bad date" "$hdr\n2024-02-30T10:00:00Z,a,s,X,1\n" "no such date"
bad "short row" "$hdr\n2024-01-01T10:00:00Z,a,s,X\n" "bad.csv:2: 4 fields"
# A bad row at the end of a long file: still nothing printed.
{ echo "$hdr"; for i in $(seq 1 500); do echo "2024-01-01T10:00:00Z,a,s,X,$i"; done; echo "2024-01-01T10:00:00Z,a,s,X,oops"; } >"$DIR/late.csv"
o=$(rep --trades-csv "$DIR/late.csv" --starting-balance 10000 --format text 2>"$DIR/err"); rc=$?
check "a bad last row (line 502): nothing half-printed" '[ $rc -eq 1 ] && [ -z "$o" ] && grep -q "late.csv:502: pnl" "$DIR/err"' "$o $(cat "$DIR/err")"
echo "previous" >"$DIR/keep.html"
rep --trades-csv "$DIR/late.csv" --starting-balance 10000 --format html --output "$DIR/keep.html" 2>/dev/null; rc=$?
check "a bad file leaves an existing --output untouched" '[ $rc -eq 1 ] && [ "$(cat "$DIR/keep.html")" = previous ]'
printf '%s\n2024-01-01T10:00:00Z,\033]0;pwned\007,s,X,"1x\033[2J"\n' "$hdr" >"$DIR/hostile.csv"
rep --trades-csv "$DIR/hostile.csv" --starting-balance 10000 >/dev/null 2>"$DIR/err"; rc=$?
check "an error quoting hostile bytes is inert on the terminal" '[ $rc -eq 1 ] && ! has_control "$(cat "$DIR/err")"' "$(cat -v "$DIR/err")"

# ---- usage errors: exit 2
for args in "--starting-balance 10000" "--trades-csv $WEEK" "--trades-csv $WEEK --starting-balance 0" \
    "--trades-csv $WEEK --starting-balance -5" "--trades-csv $WEEK --starting-balance abc" \
    "--trades-csv $WEEK --starting-balance 10000 --format pdf" \
    "--trades-csv $WEEK --starting-balance 10000 --groups account,desk"; do
    # shellcheck disable=SC2086
    o=$(rep $args 2>/dev/null); rc=$?
    check "usage error ($args): exit 2, nothing on stdout" '[ $rc -eq 2 ] && [ -z "$o" ]' "rc $rc: $o"
done
o=$(rep --trades-csv "$DIR/none.csv" --starting-balance 10000 2>&1); rc=$?
check "a missing file: exit 1 with the reason" '[ $rc -eq 1 ] && echo "$o" | grep -q "No such file"' "$o"

# ---- a million rows (generated: 4 accounts, 3 strategies, 5 symbols,
# a trade every 5 minutes from 2020-01-01, P&L from a fixed pattern)
awk 'BEGIN {
    print "close_time,account,strategy,symbol,pnl"
    split("EURUSD XAUUSD US30 USDJPY GBPUSD", sy, " ")
    t = 1577836800
    for (i = 0; i < 1000000; i++) {
        s = t + i * 300
        printf "%s,acc-%d,strat-%d,%s,%.2f\n", strftime("%Y-%m-%dT%H:%M:%SZ", s, 1), i % 4, i % 3, sy[i % 5 + 1], ((i * 7919) % 2001 - 990) / 100
    }
}' >"$DIR/million.csv" 2>"$DIR/awk.err" || mawk_fallback=1
if [ -n "${mawk_fallback:-}" ] || [ "$(wc -l <"$DIR/million.csv")" -ne 1000001 ]; then
    # mawk has no strftime: the same rows with the date worked out by hand.
    awk 'function civil(z,   era, doe, yoe, doy, mp, d, m, y) {
            z += 719468; era = int(z / 146097); doe = z - era * 146097
            yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
            y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
            mp = int((5 * doy + 2) / 153); d = doy - int((153 * mp + 2) / 5) + 1
            m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++
            return sprintf("%04d-%02d-%02d", y, m, d) }
    BEGIN {
        print "close_time,account,strategy,symbol,pnl"
        split("EURUSD XAUUSD US30 USDJPY GBPUSD", sy, " ")
        t = 1577836800
        for (i = 0; i < 1000000; i++) {
            s = t + i * 300; day = int(s / 86400); r = s - day * 86400
            printf "%sT%02d:%02d:%02dZ,acc-%d,strat-%d,%s,%.2f\n", civil(day), int(r / 3600), int(r % 3600 / 60), r % 60, i % 4, i % 3, sy[i % 5 + 1], ((i * 7919) % 2001 - 990) / 100
        }
    }' >"$DIR/million.csv"
fi
check "generated 1,000,000 rows" '[ "$(wc -l <"$DIR/million.csv")" -eq 1000001 ]'
js=$(rep --trades-csv "$DIR/million.csv" --starting-balance 100000 --format json --groups account,strategy,symbol 2>"$DIR/err"); rc=$?
check "a million rows: exit 0, every trade counted" \
    '[ $rc -eq 0 ] && [ "$(json_get "$js" overall,n_trades)" = 1000000 ] && [ "$(json_get "$js" by_account,acc-3,n_trades)" = 250000 ] && [ "$(json_get "$js" by_symbol,US30,n_trades)" = 200000 ]' \
    "rc $rc $(cat "$DIR/err") $(echo "$js" | head -c 600)"
sum=$(awk -F, 'NR > 1 { s += $5 } END { printf "%.2f", s }' "$DIR/million.csv")
got=$(json_get "$js" overall,net_profit)
check "a million rows: net profit equals the sum of the column ($sum)" \
    '[ "$(printf "%.2f" "$got")" = "$sum" ]' "got $got"
check "a million rows: the first and last day" \
    '[ "$(json_get "$js" overall,start_date)" = 2020-01-01 ] && [ "$(json_get "$js" overall,end_date)" = 2029-07-04 ]' \
    "$(json_get "$js" overall,start_date) $(json_get "$js" overall,end_date) (last row: $(tail -1 "$DIR/million.csv"))"
rep --trades-csv "$DIR/million.csv" --starting-balance 100000 --format html --output "$DIR/million.html"; rc=$?
check "a million rows: html page written" '[ $rc -eq 0 ] && grep -q "<polyline" "$DIR/million.html" && [ "$(stat -c %s "$DIR/million.html")" -lt 400000 ]' "$(ls -l "$DIR/million.html")"

echo "1..$n"
[ "$fails" -eq 0 ]
