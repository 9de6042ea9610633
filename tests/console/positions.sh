#!/bin/bash
# positions.sh - drive the real console in tmux as an operator would, on the
# Positions screen: wait for the demo accounts, move, filter, open help,
# quit, and check the terminal is given back as it was. Three terminals:
# 120x40, 80x24, and a monochrome vt100 in the C locale.
#
# Needs BIN_TRADEOPS and TRADEOPS_TEST_CONFIG (tests/run.sh exports both:
# a config pointing at private PostgreSQL, Redis and simulator with demo
# accounts demo-1..demo-6 and the current OS user an admin).
# Prints TAP lines ("ok N - what" / "not ok N - what"); exits 1 on failure.
set -u

: "${BIN_TRADEOPS:?BIN_TRADEOPS must name the tradeops binary}"
: "${TRADEOPS_TEST_CONFIG:?TRADEOPS_TEST_CONFIG must name a test config}"

START_TIMEOUT_S=${START_TIMEOUT_S:-30}  # first data from the simulator
STEP_TIMEOUT_S=${STEP_TIMEOUT_S:-5}     # a key's effect on the screen
POLL_S=0.1

# A tmux server of our own, so nothing the developer runs is touched.
SOCK="tradeops-console-test-$$"
TMP=$(mktemp -d)
. "$(dirname "$0")/lib.bash"
cleanup() { tmx kill-server >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT

SESSION=""

# Bounded polling: true as soon as the screen matches the extended regex.

# The session runs the console between two snapshots of the terminal
# settings, then says how it ended and stays open for inspection.
start() { # name cols lines env-assignments...
    SESSION=$1
    local cols=$2 lines=$3
    shift 3
    local envs="$*"
    local cmd="stty -g > '$TMP/$SESSION.before'; env $envs '$BIN_TRADEOPS' --config '$TRADEOPS_TEST_CONFIG';"
    cmd+=" echo \"__EXIT__ \$?\"; stty -g > '$TMP/$SESSION.after'; exec sleep 600"
    tmx new-session -d -s "$SESSION" -x "$cols" -y "$lines" "$cmd"
}

quit_and_check_restored() {
    keys q
    check "$SESSION: q quits with status 0" wait_for '^__EXIT__ 0$'
    check "$SESSION: alternate screen left" \
        test "$(tmx display -p -t "$SESSION" '#{alternate_on}')" = 0
    check "$SESSION: no console left on the terminal" \
        bash -c "! tmux -L '$SOCK' capture-pane -p -t '$SESSION' | grep -Eq 'Accounts|tradeops|q quit'"
    check "$SESSION: terminal settings restored" wait_for_file_same \
        "$TMP/$SESSION.before" "$TMP/$SESSION.after"
}

wait_for_file_same() {
    local i
    for i in $(seq 1 50); do
        [ -s "$2" ] && break
        sleep "$POLL_S"
    done
    cmp -s "$1" "$2"
}

no_other_accounts() { ! capture | grep -Eq 'demo-[13456]'; }
accounts_visible() { capture | grep -q 'demo-1' && capture | grep -q 'demo-6'; }

command -v tmux >/dev/null || { echo "not ok 1 - tmux is installed"; exit 1; }

# A variant whose console never shows data stops there (its session is
# killed) rather than timing out on every later check.
give_up() {
    tmx kill-session -t "$SESSION" >/dev/null 2>&1
    return 1
}

# ---- 120x40 ------------------------------------------------------------
wide() {
    start wide 120 40
    check "wide: console shows demo-1" wait_for 'demo-1' "$START_TIMEOUT_S" || { give_up; return; }
    check "wide: tab bar with product, tab and UTC clock" \
        wait_for '^ ?tradeops .*1 Positions.*[0-9]{2}:[0-9]{2}:[0-9]{2} UTC'
    check "wide: status line shows PostgreSQL and operator@role" wait_for 'PostgreSQL .*@(admin|oncall|trader|viewer)'
    check "wide: all six demo accounts listed" wait_for 'demo-6'
    keys j
    check "wide: j selects the next account" wait_for 'Positions of demo-2'
    keys k
    check "wide: k goes back" wait_for 'Positions of demo-1'
    keys /
    check "wide: / opens the filter prompt" wait_for '^/'
    text "demo-2"
    keys Enter
    check "wide: filter shows it is active" wait_for 'filter: demo-2'
    check "wide: only demo-2 is left" no_other_accounts
    check "wide: demo-2 itself is shown" wait_for 'demo-2 '
    keys / C-u Enter
    check "wide: empty filter shows every account again" wait_for 'demo-6'
    keys p
    check "wide: p pauses and the status line says so" wait_for 'PAUSED'
    keys p
    check "wide: p again resumes" wait_gone 'PAUSED'
    keys '?'
    check "wide: ? opens help" wait_for 'Leave the console'
    keys q
    check "wide: q closes help first" wait_gone 'Leave the console'
    check "wide: console still running after closing help" wait_for 'demo-1'
    quit_and_check_restored
}

# ---- 80x24 -------------------------------------------------------------
small() {
    start small 80 24
    check "small: console shows demo-1 at 80x24" wait_for 'demo-1' "$START_TIMEOUT_S" || { give_up; return; }
    check "small: hint line fits with help and quit" wait_for '\? help +q quit'
    check "small: tab bar keeps the clock" wait_for '[0-9]{2}:[0-9]{2}:[0-9]{2} UTC'
    tmx resize-window -t small -x 20 -y 5 >/dev/null 2>&1
    check "small: 20x5 says too small" wait_for 'too small'
    tmx resize-window -t small -x 80 -y 24 >/dev/null 2>&1
    check "small: back at 80x24 the accounts return" wait_for 'demo-1'
    quit_and_check_restored
}

# ---- vt100, NO_COLOR, C locale -----------------------------------------
mono() {
    start mono 100 30 NO_COLOR=1 TERM=vt100 LC_ALL=C LANG=C
    check "mono: console shows demo-1 on a vt100" wait_for 'demo-1' "$START_TIMEOUT_S" || { give_up; return; }
    check "mono: accounts listed" accounts_visible
    check "mono: no colour escape sequences" no_colour
    check "mono: ASCII only in the C locale" all_ascii
    quit_and_check_restored
}

wide
small
mono
echo "1..$n"
exit "$failed"
