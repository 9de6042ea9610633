#!/bin/bash
# run.sh - `make bench`: figures beside references measured in the same run.
# Starts its own PostgreSQL/Redis (build/bench-run) and a simulator with
# BENCH_ACCOUNTS accounts, then runs the bench binary.
set -eu
HERE=$(cd "$(dirname "$0")/../.." && pwd)
cd "$HERE"
RUN="$HERE/${BENCH_RUN_DIR:-build/bench-run}"
abs() { case "$1" in /*) echo "$1" ;; *) echo "$HERE/$1" ;; esac; }
BIN_SIM=$(abs "${BIN_SIM:-tradeops-sim}")
BIN_BENCH=$(abs "${BIN_BENCH:-build/rel/tradeops-bench}")
export BENCH_ACCOUNTS=${BENCH_ACCOUNTS:-1000}

cleanup() {
    [ -n "${SIMPID:-}" ] && kill "$SIMPID" 2>/dev/null || true
    data/dev/services.sh down "$RUN" >/dev/null 2>&1 || true
}
trap cleanup EXIT
[ -d "$RUN" ] && data/dev/services.sh down "$RUN" >/dev/null 2>&1
rm -rf "$RUN"
mkdir -p "$RUN"
BIN_SIM="$BIN_SIM" data/dev/services.sh up "$RUN" 2>/dev/null
base=$(cat "$RUN/pg.base")
psql -X -q "$base dbname=postgres" -c "create database bench" >/dev/null
"$(abs "${BIN_TRADEOPS:-tradeops}")" --pg "$base dbname=bench" migrate >/dev/null

"$BIN_SIM" --port 0 --port-file "$RUN/bench-sim.port" --token bench-token \
    --accounts "$BENCH_ACCOUNTS" --seed 3 >"$RUN/bench-sim.log" 2>&1 &
SIMPID=$!
for _ in $(seq 100); do [ -s "$RUN/bench-sim.port" ] && break; sleep 0.1; done
export BENCH_SIM_URL="http://127.0.0.1:$(cat "$RUN/bench-sim.port")"
export BENCH_SIM_TOKEN=bench-token
export BENCH_PG="$base dbname=bench"
export BENCH_REDIS="unix:$RUN/redis.sock"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$BIN_BENCH"
