#!/bin/sh
# deps.sh - install the Debian packages tradeops needs to build, run and test.
#
# As root, or with non-interactive sudo, missing packages are installed with
# apt-get. Otherwise the exact command is printed and the script fails, so
# nothing is half set up.
set -eu

PACKAGES="gcc make pkg-config libncurses-dev libpq-dev libhiredis-dev
libcurl4-openssl-dev libcjson-dev libcriterion-dev libmicrohttpd-dev libinih-dev
libssl-dev postgresql redis-server tmux ncurses-term locales curl"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

echo "tradeops: missing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "tradeops: run this, then try again:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them once when needed.
if ! $SUDO apt-get install -y --no-install-recommends $missing >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y --no-install-recommends $missing
fi
echo "tradeops: installed:$missing" >&2
