# lib.bash - what every console test (tests/console/*.sh) does the same way:
# a private tmux server, TAP lines, reading the screen and waiting for it,
# sending keys. Sourced after the script sets SOCK (its tmux socket) and
# POLL_S; SESSION names the pane read and typed into. wait_for and
# wait_gone wait WAIT_DEFAULT_S seconds unless told (STEP_TIMEOUT_S, else 5).
# shellcheck shell=bash

tmx() { tmux -L "$SOCK" -f /dev/null "$@"; }

n=0
failed=0
SESSION=${SESSION:-}
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1))
    failed=1
    echo "not ok $n - $1"
    if [ -n "$SESSION" ]; then
        echo "# screen was:"
        capture | sed 's/^/#   /'
    fi
}
check() { # check "what" command...
    local what=$1
    shift
    if "$@"; then
        ok "$what"
    else
        not_ok "$what"
        return 1
    fi
}
diag() { echo "# $*"; }

capture() { tmx capture-pane -p -t "$SESSION" 2>/dev/null; }
capture_esc() { tmx capture-pane -p -e -t "$SESSION" 2>/dev/null; }
keys() { tmx send-keys -t "$SESSION" "$@"; }
text() { tmx send-keys -t "$SESSION" -l "$1"; }

_default_wait() { echo "${WAIT_DEFAULT_S:-${STEP_TIMEOUT_S:-5}}"; }
wait_for() { # regex [timeout_s]
    local re=$1 limit=${2:-$(_default_wait)} end
    end=$(($(date +%s%N) + limit * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        capture | grep -Eq -- "$re" && return 0
        sleep "$POLL_S"
    done
    return 1
}
wait_gone() { # regex [timeout_s]
    local re=$1 limit=${2:-$(_default_wait)} end
    end=$(($(date +%s%N) + limit * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        capture | grep -Eq -- "$re" || return 0
        sleep "$POLL_S"
    done
    return 1
}
# The same for a fixed string that may hold bytes a regex would mangle.
wait_for_fixed() { # string [timeout_s]
    local s=$1 limit=${2:-$(_default_wait)} end
    end=$(($(date +%s%N) + limit * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        capture | grep -Fq -- "$s" && return 0
        sleep "$POLL_S"
    done
    return 1
}

# Nothing but ASCII on the screen; no colour escape sequence in it.
all_ascii() { ! capture | LC_ALL=C grep -q $'[\x80-\xff]'; }
no_colour() { ! capture_esc | grep -Eq $'\e\\[([0-9;]*;)?(3[0-7]|4[0-7]|38|48|9[0-7]|10[0-7])(;[0-9;]*)?m'; }
