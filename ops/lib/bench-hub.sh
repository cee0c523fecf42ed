# ops/bench hub: load on one release hub and its Redis on loopback, with wrk on the same box.
# BENCH_DURATION (s, default 15), BENCH_CONNECTIONS (default 64) and BENCH_SCENARIOS (default
# "framework healthz refresh refresh-api introspect argon2 login argon2") adjust it. `refresh` is
# an OpenID Connect client's refresh (scope "openid profile": an access token and an ID token,
# two signatures); `refresh-api` a plain OAuth API client's (scope "profile": the access token
# only, one signature). `framework` is a bare
# Hummingbird app (one route, no middleware) under the same load: the framework's own cost per
# request on this machine, which every endpoint of the hub pays before its own work. Pure Argon2id runs just before and
# just after the logins, so the login rate is compared with the hashing rate of the same minutes:
# on this shared VM the machine's speed drifts by more than the 10% the comparison is about.
# Sourced by ops/bench after common.sh. Prints requests/s, p50/p99 latency and the CPU that
# the hub and Redis each used, for refresh grants, introspections and password logins.

bench_hub() {
    local duration=${BENCH_DURATION:-15} connections=${BENCH_CONNECTIONS:-64} threads=2 sessions=512
    # BENCH_SCENARIOS picks and orders the runs, e.g. "healthz refresh" while working on refresh.
    local scenarios=${BENCH_SCENARIOS:-framework healthz refresh refresh-api introspect argon2 login argon2}
    log "building hallpass-bench (release)"
    swift build -c release --package-path Benchmarks --product hallpass-bench
    local bench_bin
    bench_bin="$(swift build -c release --package-path Benchmarks --show-bin-path)/hallpass-bench"
    start_bench_hub
    local base=$BENCH_BASE redis_url=$BENCH_REDIS_URL
    eval "$("$bench_bin" seed-hub --redis "$redis_url")"
    export BENCH_USER BENCH_PASSWORD
    BENCH_BASIC=$(printf '%s:%s' "$BENCH_CLIENT" "$BENCH_SECRET" | base64 -w0)
    export BENCH_BASIC

    BENCH_TOKEN=$(curl -fs -u "$BENCH_CLIENT:$BENCH_SECRET" "$base/oauth2/token" \
        -d grant_type=password -d "username=$BENCH_USER" -d "password=$BENCH_PASSWORD" | grep -o '"access_token":"[^"]*"' | cut -d'"' -f4)
    export BENCH_TOKEN

    printf '\nhub and Redis on loopback, wrk -t%s -c%s -d%ss on the same %s-core machine\n' \
        "$threads" "$connections" "$duration" "$(nproc)"
    printf '%-16s %10s %9s %9s %9s %10s %10s %10s %12s %8s %12s %11s\n' scenario "req/s" p50 p99 non-2xx "hub CPU" "redis CPU" \
        "wrk CPU" "hub µs/req" errors "redis µs/req" "main µs/req"
    # The floors: a bare Hummingbird app, and the hub's GET /healthz, which does no work of ours
    # beyond the middleware every request passes through. No endpoint can go faster than these.
    local scenario
    for scenario in $scenarios; do
        case $scenario in
        framework) run_framework_floor "$bench_bin" "$duration" "$connections" "$threads" ;;
        healthz) run_wrk healthz "$base" "$duration" "$connections" "$threads" Benchmarks/wrk/healthz.lua ;;
        refresh)
            # A fresh pool for every run: a run leaves the pool's tokens rotated.
            open_refresh_pool "$base" "$sessions" "openid profile" "$RUN_DIR/refresh-tokens"
            run_wrk refresh "$base" "$duration" "$connections" "$threads" Benchmarks/wrk/refresh.lua \
                -- "$RUN_DIR/refresh-tokens" "$threads" ;;
        refresh-api)
            open_refresh_pool "$base" "$sessions" "profile" "$RUN_DIR/refresh-tokens-api"
            run_wrk refresh-api "$base" "$duration" "$connections" "$threads" Benchmarks/wrk/refresh.lua \
                -- "$RUN_DIR/refresh-tokens-api" "$threads" ;;
        introspect) run_wrk introspect "$base" "$duration" "$connections" "$threads" Benchmarks/wrk/introspect.lua ;;
        login) run_wrk login "$base" "$duration" 8 "$threads" Benchmarks/wrk/login.lua ;;
        login-cheap) run_cheap_logins "$base" "$duration" "$connections" "$threads" ;;
        argon2) printf '\n'; "$bench_bin" argon2 --threads "$(nproc)" --seconds 5 ;;
        *) log "unknown scenario $scenario (framework healthz refresh refresh-api introspect login login-cheap argon2)"; return 1 ;;
        esac
    done
}

# start_bench_hub [HUB FLAGS...]: builds the release hub, starts a throwaway Redis and a hub
# on a free port (extra flags appended), and waits until it is ready. Sets BENCH_BASE,
# BENCH_PORT, BENCH_REDIS_URL, HUB_PID and RUN_DIR; the EXIT trap stops everything.
start_bench_hub() {
    ensure_system_packages wrk curl bc time
    log "building hallpass-hub (release)"
    swift build -c release --product hallpass-hub
    local hub_bin
    hub_bin="$(swift build -c release --show-bin-path)/hallpass-hub"

    RUN_DIR=${RUN_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/hallpass-bench-hub.XXXXXX")}
    HUB_PID= FLOOR_PID=
    trap 'stop_bench_hub; rm -rf "$RUN_DIR"' EXIT
    # AOF on, no eviction; BENCH_APPENDFSYNC (default everysec; ops/run uses always) and
    # BENCH_TOPOLOGY (single, sentinel or cluster: ops/lib/topology.sh).
    local topology=${BENCH_TOPOLOGY:-single}
    start_redis_topology "$topology" "$RUN_DIR/redis-$topology" --appendonly yes --appendfsync "${BENCH_APPENDFSYNC:-everysec}" \
        --maxmemory-policy noeviction --save ''
    local redis_url port
    redis_url=$(redis_topology_url "$topology")
    port=$(free_port)
    openssl rand -hex 32 > "$RUN_DIR/kek" && chmod 600 "$RUN_DIR/kek"
    # The throttle counts a login as failed until its password is checked, so many concurrent
    # logins of the one bench user need a high per-user limit.
    "$hub_bin" --redis "$redis_url" --port "$port" --kek-file "$RUN_DIR/kek" --log-level warning \
        --login-attempts-per-user 1000000 --login-attempts-per-address 1000000 "$@" \
        > "$RUN_DIR/hub.log" 2>&1 &
    HUB_PID=$!
    local base="http://127.0.0.1:${port}" waited
    for waited in $(seq 1 200); do
        curl -fs "$base/readyz" >/dev/null 2>&1 && break
        sleep 0.05
    done
    curl -fs "$base/readyz" >/dev/null || { log "hub did not become ready: $(tail -5 "$RUN_DIR/hub.log")"; return 1; }
    BENCH_BASE=$base BENCH_PORT=$port BENCH_REDIS_URL=$redis_url
}

# stop_bench_hub: stops the hub, the framework floor and every Redis process start_bench_hub
# started (RUN_DIR stays).
stop_bench_hub() {
    [ -n "${HUB_PID:-}" ] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
    [ -n "${FLOOR_PID:-}" ] && kill "$FLOOR_PID" 2>/dev/null
    HUB_PID= FLOOR_PID=
    stop_redis_nodes
    stop_redis
}

# run_cheap_logins BASE DURATION CONNECTIONS THREADS: password logins of bench-cheap, whose hash
# costs 1 MiB and one pass (hallpass-bench seed-hub), so the run is bound by the hub and Redis
# rather than Argon2id and Redis's per-login figure is not diluted by its idle work; then the
# Redis commands one login made, from INFO commandstats over the data nodes.
run_cheap_logins() {
    local base=$1 duration=$2 connections=$3 threads=$4 before after nodes_before nodes_after
    before=$(redis_command_calls); nodes_before=$(redis_main_thread_usec_per_node)
    (export BENCH_USER=$BENCH_CHEAP_USER; run_wrk login-cheap "$base" "$duration" "$connections" "$threads" Benchmarks/wrk/login.lua)
    after=$(redis_command_calls); nodes_after=$(redis_main_thread_usec_per_node)
    local logins
    logins=$(awk '/requests in/ { print $1 }' "$RUN_DIR/wrk-login-cheap.txt")
    [ "${logins:-0}" -gt 0 ] || return 0
    # On a cluster, each node's share: all of bench-cheap's logins go to its one shard's
    # master, while the throttle and the username lookup go to {hg}'s.
    if [ "${#REDIS_DATA_PORTS[@]}" -gt 1 ]; then
        printf '  per login-cheap, each node (main thread): '
        join <(echo "$nodes_before" | sort) <(echo "$nodes_after" | sort) |
            awk -v n="$logins" '{ printf "%s %.0f µs\n", $2, ($5 - $3) / n }' | paste -sd ';' | sed 's/;/; /g'
    fi
    # calls and usec per login for each command, the busiest first (the hub's idle background,
    # sweeps and its change feed, included: over thousands of logins a second it is small).
    printf '  per login-cheap: '
    join -a 2 -e 0 -o 0,1.2,1.3,2.2,2.3 <(echo "$before" | sort) <(echo "$after" | sort) |
        awk -v n="$logins" '{ calls = ($4 - $2) / n; usec = ($5 - $3) / n; if (calls >= 0.01) printf "%s %.2f calls %.1f µs\n", $1, calls, usec }' |
        sort -t' ' -k4 -g -r | paste -sd ';' | sed 's/;/; /g'
}

# redis_main_thread_usec_per_node: "port label usec" for each data node, its label saying its role
# and whether it holds {hg} (the global tag) on a cluster.
redis_main_thread_usec_per_node() {
    local port role hg slot
    slot=$(rcli -p "${REDIS_DATA_PORTS[0]}" CLUSTER KEYSLOT 'hp:{hg}:x' 2>/dev/null | tr -d '\r')
    [[ $slot =~ ^[0-9]+$ ]] || slot=
    for port in "${REDIS_DATA_PORTS[@]}"; do
        role=$(rcli -p "$port" INFO replication 2>/dev/null | tr -d '\r' | awk -F: '$1 == "role" { print $2 }')
        hg=
        if [ -n "$slot" ] && [ "$(rcli -p "$port" CLUSTER COUNTKEYSINSLOT "$slot" 2>/dev/null | tr -d '\r')" != 0 ]; then hg='+{hg}'; fi
        printf '%s %s:%s%s %s\n' "$port" "$port" "$role" "$hg" "$(redis_node_main_thread_usec "$port")"
    done
}

# redis_command_calls: "command calls usec" for every command the data nodes ran, summed over them.
redis_command_calls() {
    local port
    for port in "${REDIS_DATA_PORTS[@]}"; do
        rcli -p "$port" INFO commandstats 2>/dev/null | tr -d '\r' |
            sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=\([0-9]*\),.*/\1 \2 \3/p'
    done | awk '{ calls[$1] += $2; usec[$1] += $3 } END { for (c in calls) print c, calls[c], usec[c] }'
}

# open_refresh_pool BASE COUNT SCOPE FILE: COUNT password logins with SCOPE; their refresh
# tokens, one per line, in FILE (the refresh scenarios rotate each once per pass).
open_refresh_pool() {
    local base=$1 count=$2 scope=$3 file=$4
    log "opening $count sessions (password logins, scope \"$scope\") for a refresh pool"
    seq "$count" | xargs -P 4 -I{} curl -fs -u "$BENCH_CLIENT:$BENCH_SECRET" "$base/oauth2/token" \
        -d grant_type=password -d "username=$BENCH_USER" -d "password=$BENCH_PASSWORD" --data-urlencode "scope=$scope" \
        | grep -o '"refresh_token":"[^"]*"' | cut -d'"' -f4 > "$file"
    log "$(wc -l < "$file") refresh tokens ready"
}

# CPU seconds (user + system) a process has used so far (0 once it is gone).
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# Microseconds of CPU the main threads of every data node of the topology have used (INFO cpu,
# used_cpu_*_main_thread), replicas included: Redis's own work on requests, without its
# background threads (the AOF's fsync) or Sentinels ("-" when no node is known). Not
# commandstats: commands a script calls are counted there as well as the script itself.
redis_main_thread_usec() {
    local total=0 port usec
    [ "${#REDIS_DATA_PORTS[@]}" -gt 0 ] 2>/dev/null || { echo -; return; }
    for port in "${REDIS_DATA_PORTS[@]}"; do
        usec=$(redis_node_main_thread_usec "$port")
        total=$((total + ${usec:-0}))
    done
    echo "$total"
}

# redis_node_main_thread_usec PORT: the main-thread CPU (user and system, µs) of the node at PORT.
redis_node_main_thread_usec() {
    rcli -p "$1" INFO cpu 2>/dev/null | tr -d '\r' |
        awk -F: '$1 ~ /_main_thread$/ { s += $2 } END { printf "%d", s * 1000000 }'
}

# CPU seconds of every Redis process of the topology together (data nodes and Sentinels).
redis_cpu_seconds() {
    local total=0 pid
    for pid in $(redis_topology_pids); do total=$(echo "$total + $(cpu_seconds "$pid")" | bc -l); done
    echo "$total"
}

# run_framework_floor BENCH_BIN DURATION CONNECTIONS THREADS: GET /healthz on a bare Hummingbird
# app (hallpass-bench framework-floor), with its CPU in the "hub CPU" columns.
run_framework_floor() {
    local bench_bin=$1 duration=$2 connections=$3 threads=$4 port waited
    port=$(free_port)
    "$bench_bin" framework-floor --port "$port" > "$RUN_DIR/framework-floor.log" 2>&1 &
    FLOOR_PID=$!
    for waited in $(seq 1 200); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 0.05
    done
    SERVER_PID=$FLOOR_PID run_wrk framework "http://127.0.0.1:$port" "$duration" "$connections" "$threads" \
        Benchmarks/wrk/healthz.lua
    kill "$FLOOR_PID" 2>/dev/null; wait "$FLOOR_PID" 2>/dev/null || true
    FLOOR_PID=
}

# run_wrk NAME BASE DURATION CONNECTIONS THREADS SCRIPT [-- ARGS...]
# The server whose CPU is measured is SERVER_PID, the hub unless set.
run_wrk() {
    local name=$1 base=$2 duration=$3 connections=$4 threads=$5 script=$6 server=${SERVER_PID:-$HUB_PID}
    shift 6
    local hub_before redis_before hub_after redis_after out
    # REDIS_IDLE_RATE (CPU seconds per second, default 0): the topology's background (Sentinel
    # pings, the cluster bus, replication heartbeats), subtracted from "redis µs/req" only.
    local idle=${REDIS_IDLE_RATE:-0}
    local main_before main_after
    hub_before=$(cpu_seconds "$server"); redis_before=$(redis_cpu_seconds); main_before=$(redis_main_thread_usec)
    out=$(/usr/bin/time -f '%U %S' -o "$RUN_DIR/wrk-cpu" \
        wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "$script" "$base" "$@" 2>&1) || true
    hub_after=$(cpu_seconds "$server"); redis_after=$(redis_cpu_seconds); main_after=$(redis_main_thread_usec)
    echo "$out" > "$RUN_DIR/wrk-$name.txt"
    local rps p50 p99 non2xx errors
    rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
    p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
    p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
    non2xx=$(echo "$out" | awk '/Non-2xx/ { print $NF }'); non2xx=${non2xx:-0}
    errors=$(echo "$out" | awk '/Socket errors/ { n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n }')
    errors=${errors:-0}
    local requests
    requests=$(echo "$out" | awk '/requests in/ { print $1 }'); requests=${requests:-0}
    # CPU per request is the figure least disturbed by whatever else the machine is doing.
    local wrk_cpu
    wrk_cpu=$(awk '{ print $1 + $2 }' "$RUN_DIR/wrk-cpu" 2>/dev/null || echo 0)
    local main_usec=-
    if [ "$main_before" != - ] && [ "$requests" -gt 0 ]; then
        main_usec=$(( (main_after - main_before) / requests ))
    fi
    printf '%-16s %10s %9s %9s %9s %9.0f%% %9.0f%% %9.0f%% %12.0f %8s %12.0f %11s\n' "$name" "$rps" "$p50" "$p99" "$non2xx" \
        "$(echo "($hub_after - $hub_before) * 100 / $duration" | bc -l)" \
        "$(echo "($redis_after - $redis_before) * 100 / $duration" | bc -l)" \
        "$(echo "${wrk_cpu:-0} * 100 / $duration" | bc -l)" \
        "$(echo "if ($requests > 0) ($hub_after - $hub_before) * 1000000 / $requests else 0" | bc -l)" "$errors" \
        "$(echo "if ($requests > 0) ($redis_after - $redis_before - $idle * $duration) * 1000000 / $requests else 0" | bc -l)" \
        "$main_usec"
}
