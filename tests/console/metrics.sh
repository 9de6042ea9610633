#!/bin/bash
# metrics.sh - drive the real console in tmux on the Metrics screen (tab 5)
# over the suite's demo (accounts demo-1..demo-6 with months of closed
# trades): the performance table lists the demo accounts, P changes the
# period and o the scope kind (the header and the table follow), the
# selected account's equity curve is drawn in braille characters, and the
# system metrics lines are there. Then a vt100 with NO_COLOR in the C
# locale: the same curve in ASCII, nothing else but ASCII, no colour.
#
# Needs BIN_TRADEOPS and TRADEOPS_TEST_CONFIG (tests/run.sh exports both).
# Prints TAP lines; exits 1 on failure. Every wait is bounded.
set -u

: "${BIN_TRADEOPS:?BIN_TRADEOPS must name the tradeops binary}"
: "${TRADEOPS_TEST_CONFIG:?TRADEOPS_TEST_CONFIG must name a test config}"

START_TIMEOUT_S=${START_TIMEOUT_S:-30} # first data, the first analytics load
LOAD_TIMEOUT_S=${LOAD_TIMEOUT_S:-30}   # a new period or scope computed
POLL_S=0.1
WAIT_DEFAULT_S=$LOAD_TIMEOUT_S

SOCK="tradeops-metrics-test-$$"
TMP=$(mktemp -d)
. "$(dirname "$0")/lib.bash"
cleanup() { tmx kill-server >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT

SESSION=""

start() { # name cols lines env-assignments...
    SESSION=$1
    local cols=$2 lines=$3
    shift 3
    tmx new-session -d -s "$SESSION" -x "$cols" -y "$lines" \
        "env $* '$BIN_TRADEOPS' --config '$TRADEOPS_TEST_CONFIG'; echo \"__EXIT__ \$?\"; exec sleep 600"
}

give_up() {
    tmx kill-session -t "$SESSION" >/dev/null 2>&1
    return 1
}

# A row of the table: the account, then a trade count.
account_row() { capture | grep -Eq "^ *demo-$1 +[0-9]+ "; }
# Braille (U+2801..U+28FF: bytes e2 a0 81 .. e2 a3 bf) on the screen.
braille_count() { capture | LC_ALL=C grep -o $'\xe2[\xa0-\xa3][\x80-\xbf]' | grep -cv $'\xe2\xa0\x80'; }
has_braille() { [ "$(braille_count)" -ge 5 ]; }
wait_braille() {
    local end=$(($(date +%s%N) + LOAD_TIMEOUT_S * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        has_braille && return 0
        sleep "$POLL_S"
    done
    return 1
}
# The ASCII curve: rows of the plot ("|" axis, then line characters).
ascii_curve() { [ "$(capture | grep -Ec "^ *[0-9.-]* *\|.*[_'].*")" -ge 3 ]; }
system_lines() {
    local s
    s=$(capture)
    for w in 'broker poll' 'postgres' 'redis hits' 'sync queue' 'notify q' 'errors/min'; do
        grep -Fq -- "$w" <<<"$s" || return 1
    done
}
header_has() { capture | sed -n 2p | grep -Eq -- "$1"; }

command -v tmux >/dev/null || { echo "not ok 1 - tmux is installed"; exit 1; }

# ---- 140x40, UTF-8 ---------------------------------------------------------
wide() {
    start wide 140 40 LANG=C.UTF-8 LC_ALL=C.UTF-8
    check "wide: console up" wait_for 'demo-1' "$START_TIMEOUT_S" || { give_up; return; }
    keys 5
    check "wide: 5 opens Metrics (accounts, all time)" wait_for 'accounts . all time' 10 || { give_up; return; }
    check "wide: the performance table lists demo-1" wait_for '^ *demo-1 +[0-9]+ ' || { give_up; return; }
    check "wide: and demo-2" account_row 2
    check "wide: column titles" wait_for 'Trades +Win% +Net' 5
    check "wide: the selected account's equity curve" wait_for 'Equity demo-1' 5
    check "wide: the curve is drawn in braille" wait_braille
    check "wide: system metrics lines" system_lines
    keys P
    check "wide: P shows a day" wait_for 'accounts . day [0-9]{4}-[0-9]{2}-[0-9]{2}' 5
    keys P
    check "wide: P again a week" wait_for 'accounts . week [0-9]{4}-[0-9]{2}-[0-9]{2}' 5
    keys P
    check "wide: P again a month" wait_for 'accounts . month [0-9]{4}-[0-9]{2}' 5
    check "wide: the month's table loads" wait_for '(scopes?|no closed trades in this period)'
    keys P
    check "wide: P again all time" wait_for 'accounts . all time' 5
    check "wide: all time lists demo-1 again" wait_for '^ *demo-1 +[0-9]+ '
    keys o
    check "wide: o shows strategies" wait_for 'strategies . all time' 5
    check "wide: strategy rows (account/strategy)" wait_for '^ *demo-[0-9]+/[^ ]+ +[0-9]+ '
    keys o
    check "wide: o again symbols" wait_for 'symbols . all time' 5
    check "wide: symbol rows (account/symbol)" wait_for '^ *demo-[0-9]+/[A-Z]+ +[0-9]+ '
    keys o
    check "wide: o again accounts" wait_for 'accounts . all time' 5
    check "wide: account rows back" wait_for '^ *demo-1 +[0-9]+ '
    keys j
    check "wide: j selects demo-2 and its curve" wait_for 'Equity demo-2' 5
    check "wide: demo-2's curve drawn" wait_braille
    keys q
    check "wide: q quits with status 0" wait_for '^__EXIT__ 0$' 10
}

# ---- vt100, NO_COLOR, C locale ---------------------------------------------
mono() {
    start mono 100 30 NO_COLOR=1 TERM=vt100 LC_ALL=C LANG=C
    check "mono: console up on a vt100" wait_for 'demo-1' "$START_TIMEOUT_S" || { give_up; return; }
    keys 5
    check "mono: Metrics lists demo-1" wait_for '^ *demo-1 +[0-9]+ ' || { give_up; return; }
    check "mono: the curve in ASCII" wait_for 'Equity demo-1' 5
    local end=$(($(date +%s%N) + LOAD_TIMEOUT_S * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ] && ! ascii_curve; do sleep "$POLL_S"; done
    check "mono: ASCII line characters in the plot" ascii_curve
    check "mono: ASCII only in the C locale" all_ascii
    check "mono: no colour escape sequences" no_colour
    check "mono: system metrics lines" system_lines
    keys q
    check "mono: q quits with status 0" wait_for '^__EXIT__ 0$' 10
}

# ---- two consoles on one deployment ------------------------------------------
# The first polls the broker; the second reads the first's snapshots from
# Redis: its broker poll is "other instance" and its Redis hit rate 100 %.
# When the first quits, the second takes over polling by itself.
two() {
    start first 120 30 LANG=C.UTF-8 LC_ALL=C.UTF-8
    check "two: the first console is up" wait_for 'demo-1' "$START_TIMEOUT_S" || { give_up; return; }
    start second 120 40 LANG=C.UTF-8 LC_ALL=C.UTF-8
    check "two: the second console is up" wait_for 'demo-1' "$START_TIMEOUT_S" || { give_up; return; }
    keys 5
    check "two: the second's broker poll is another instance's" \
        wait_for 'broker poll +other instance' || { give_up; return; }
    check "two: the second reads every account from Redis" wait_for 'redis hits +100\.0%'
    SESSION=first
    keys q
    check "two: the first quits with status 0" wait_for '^__EXIT__ 0$' 10
    SESSION=second
    check "two: the second polls by itself now" wait_for 'broker poll +[0-9.]+m?s/' "$START_TIMEOUT_S"
    keys q
    check "two: the second quits with status 0" wait_for '^__EXIT__ 0$' 10
}

wide
mono
two
echo "1..$n"
exit "$failed"
