#!/bin/bash
# services.sh - private PostgreSQL, Redis and simulator for one work tree.
#
#   services.sh up DIR        start (or reuse) everything under DIR, write DIR/config.ini
#   services.sh demo DIR BIN  migrate, register the OS user as admin and the demo accounts
#   services.sh down DIR      stop everything started under DIR
#   services.sh status DIR    say what is running
#
# PostgreSQL refuses to run as root, so as root its data directory belongs to
# the unprivileged "postgres" user (created by Debian's package) and initdb and
# postgres run as that user. An ordinary user runs them as themselves.
# Everything listens on a Unix socket under DIR and on 127.0.0.1 only.
set -euo pipefail

cmd=${1:-}
DIR=${2:-data/run}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
HERE=$(cd "$(dirname "$0")/../.." && pwd)
SIM_BIN=${BIN_SIM:-$HERE/tradeops-sim}

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] || { echo "services: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

say() { echo "services: $*" >&2; }

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A free loopback port, remembered in DIR/NAME.port so later runs reuse it.
pick_port() {
    local name=$1 base=$2 f="$DIR/$1.port" p
    if [ -s "$f" ]; then cat "$f"; return; fi
    p=$((base + RANDOM % 2000))
    while port_in_use "$p"; do p=$((p + 1)); done
    echo "$p" > "$f"
    echo "$p"
}

pg_dirs() {
    PGDATA="$DIR/pg"
    PGSOCK="$DIR/sock"
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$DIR" 2>/dev/null; then
        # The work tree is not reachable by the postgres user (a clone under
        # /root, say): keep the cluster in a private directory it can reach.
        local alt="/var/tmp/tradeops-$(echo "$DIR" | md5sum | cut -c1-12)"
        mkdir -p "$alt"
        chown postgres: "$alt"
        chmod 700 "$alt"
        PGDATA="$alt/pg"
        PGSOCK="$alt/sock"
        echo "$alt" > "$DIR/pg.location"
    fi
}

pg_up() {
    pg_dirs
    local port
    port=$(pick_port pg 21000)
    mkdir -p "$PGSOCK"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PGSOCK"
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        mkdir -p "$PGDATA"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$PGDATA"
        chmod 700 "$PGDATA"
        say "initdb $PGDATA"
        as_pg "$PGBIN/initdb" -D "$PGDATA" -U tradeops --auth=trust -E UTF8 --locale=C.UTF-8 \
            >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
    fi
    if as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
        say "PostgreSQL already running (port $port)"
    else
        say "starting PostgreSQL on $PGSOCK and 127.0.0.1:$port"
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 \
            -o "-k $PGSOCK -p $port -h 127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null ||
            { tail -n 20 "$PGDATA/server.log" >&2; exit 1; }
    fi
    if ! psql -X -q -h "$PGSOCK" -p "$port" -U tradeops -d postgres -tAc \
        "select 1 from pg_database where datname='tradeops'" | grep -q 1; then
        psql -X -q -h "$PGSOCK" -p "$port" -U tradeops -d postgres -c "create database tradeops" >/dev/null
    fi
    PG_CONNINFO="host=$PGSOCK port=$port dbname=tradeops user=tradeops"
    echo "host=$PGSOCK port=$port user=tradeops" > "$DIR/pg.base"
}

pg_down() {
    pg_dirs
    if [ -s "$PGDATA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
        say "stopping PostgreSQL"
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    fi
}

redis_up() {
    local port
    port=$(pick_port redis 23000)
    mkdir -p "$DIR/redis"
    if [ -S "$DIR/redis.sock" ] && redis-cli -s "$DIR/redis.sock" ping >/dev/null 2>&1; then
        say "Redis already running (port $port)"
    else
        say "starting Redis on $DIR/redis.sock and 127.0.0.1:$port"
        redis-server --bind 127.0.0.1 --port "$port" --unixsocket "$DIR/redis.sock" \
            --unixsocketperm 700 --daemonize yes --pidfile "$DIR/redis.pid" \
            --dir "$DIR/redis" --logfile "$DIR/redis.log" --save "" --appendonly no >/dev/null
        for _ in $(seq 100); do
            redis-cli -s "$DIR/redis.sock" ping >/dev/null 2>&1 && break
            sleep 0.1
        done
        redis-cli -s "$DIR/redis.sock" ping >/dev/null || { tail -n 20 "$DIR/redis.log" >&2; exit 1; }
    fi
}

redis_down() {
    if [ -S "$DIR/redis.sock" ] && redis-cli -s "$DIR/redis.sock" ping >/dev/null 2>&1; then
        say "stopping Redis"
        redis-cli -s "$DIR/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    fi
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

sim_up() {
    local port
    port=$(pick_port sim 25000)
    if [ ! -s "$DIR/broker.token" ]; then
        (umask 077; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/broker.token")
    fi
    if alive "$DIR/sim.pid"; then
        say "simulator already running (port $port)"
    else
        [ -x "$SIM_BIN" ] || { echo "services: $SIM_BIN not built (make build)" >&2; exit 1; }
        say "starting simulator on 127.0.0.1:$port"
        rm -f "$DIR/sim.ready"
        # The simulator also plays the trading bot, writing bot_positions into
        # the same database as config.ini (it waits, retrying, until `demo`
        # has migrated it), and starts a reconciliation scenario every 90 s.
        nohup "$SIM_BIN" --listen 127.0.0.1 --port "$port" --port-file "$DIR/sim.ready" \
            --token-file "$DIR/broker.token" --seed 1 \
            --pg "$PG_CONNINFO" --scenario-every 90 >"$DIR/sim.log" 2>&1 </dev/null &
        echo $! > "$DIR/sim.pid"
        for _ in $(seq 100); do
            [ -s "$DIR/sim.ready" ] && break
            alive "$DIR/sim.pid" || break
            sleep 0.1
        done
        [ -s "$DIR/sim.ready" ] || { cat "$DIR/sim.log" >&2; exit 1; }
    fi
    SIM_URL="http://127.0.0.1:$port"
}

sim_down() {
    if alive "$DIR/sim.pid"; then
        say "stopping simulator"
        kill "$(cat "$DIR/sim.pid")" 2>/dev/null || true
        for _ in $(seq 50); do alive "$DIR/sim.pid" || break; sleep 0.1; done
    fi
    rm -f "$DIR/sim.pid"
}

write_config() {
    cat > "$DIR/config.ini.tmp" <<INI
; Written by data/dev/services.sh for the private services under $DIR.
; See data/tradeops.example.ini for every key.
[database]
url = $PG_CONNINFO

[redis]
url = unix:$DIR/redis.sock

[broker]
url = $SIM_URL
token_file = $DIR/broker.token

[console]
environment = DEMO
log_file = $DIR/console.log

[sync]
tradervue_url = $SIM_URL/api/v1
key_file = $DIR/sync.key

; Alerts and digests go to the simulator's Telegram and Slack.
[notify]
telegram_api_url = $SIM_URL
telegram_chat_id = 4242
telegram_token_file = $DIR/telegram.token
slack_webhook_url_file = $DIR/slack.url
INI
    (umask 077
     echo "123456:DEMOtokenDEMOtoken" > "$DIR/telegram.token"
     echo "$SIM_URL/services/T0DEMO/B0DEMO/demo0hook" > "$DIR/slack.url")
    mv "$DIR/config.ini.tmp" "$DIR/config.ini"
}

case "$cmd" in
up)
    pg_up
    redis_up
    sim_up
    write_config
    say "config in $DIR/config.ini"
    ;;
demo)
    BIN=${3:?usage: services.sh demo DIR BIN}
    CFG="$DIR/config.ini"
    "$BIN" --config "$CFG" migrate
    "$BIN" --config "$CFG" operator add "$(id -un)" admin --exists-ok
    while IFS=, read -r id name limit; do
        case "$id" in ''|'#'*|id) continue ;; esac
        "$BIN" --config "$CFG" account add "$id" --name "$name" --dd-limit "$limit" --exists-ok
    done < "$HERE/data/demo/accounts.csv"
    # Four months of closed trades for the analytics, loaded once and before
    # any journal target exists, so they are not sent to the demo journals.
    if [ ! -e "$DIR/history.loaded" ]; then
        psql -X -q -v ON_ERROR_STOP=1 "$(cat "$DIR/pg.base") dbname=tradeops" \
            -f "$HERE/data/demo/history.sql" >/dev/null
        touch "$DIR/history.loaded"
    fi
    # Journal sync: every demo account's trades go to Tradervue and to a CSV
    # journal under DIR/journal; demo-1's also to the signed webhook. The
    # simulator plays Tradervue and the webhook receiver.
    # Once: every change is audited, and a second `make run` changes nothing.
    sim_url=$(sed -n 's/^url = \(http.*\)/\1/p' "$CFG" | head -n 1)
    [ -s "$DIR/sync.key" ] || "$BIN" --config "$CFG" credentials keygen "$DIR/sync.key" >/dev/null
    if ! "$BIN" --config "$CFG" credentials list 2>/dev/null | grep -q '^tradervue'; then
        printf 'demo:demo-pass\n' | "$BIN" --config "$CFG" credentials set tradervue >/dev/null
        printf 'demo-webhook-secret\n' | "$BIN" --config "$CFG" credentials set webhook >/dev/null
        mkdir -p "$DIR/journal"
        while IFS=, read -r id _; do
            case "$id" in ''|'#'*|id) continue ;; esac
            "$BIN" --config "$CFG" account set-sync "$id" tradervue --tag "$id" --multiplier '*=100000' >/dev/null
            "$BIN" --config "$CFG" account set-sync "$id" csv --path "$DIR/journal/$id.csv" >/dev/null
        done < "$HERE/data/demo/accounts.csv"
        "$BIN" --config "$CFG" account set-sync demo-1 webhook --url "$sim_url/hooks/journal" >/dev/null
    fi
    ;;
down)
    sim_down
    redis_down
    pg_down
    ;;
restart-pg)
    # A fast restart, as an upgrade or a failover would do it: every client
    # connection is cut and must reconnect by itself.
    pg_dirs
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -m fast -w -t 60 restart >/dev/null ||
        { tail -n 20 "$PGDATA/server.log" >&2; exit 1; }
    say "PostgreSQL restarted"
    ;;
status)
    pg_dirs
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1 && echo "postgresql: running" || echo "postgresql: stopped"
    redis-cli -s "$DIR/redis.sock" ping >/dev/null 2>&1 && echo "redis: running" || echo "redis: stopped"
    alive "$DIR/sim.pid" && echo "simulator: running" || echo "simulator: stopped"
    ;;
*)
    echo "usage: services.sh up|demo|down|status|restart-pg DIR [BIN]" >&2
    exit 2
    ;;
esac
