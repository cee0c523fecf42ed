# ops/bench topologies: the hub under the same load on one Redis server, on Sentinel (a master,
# two replicas, three Sentinels) and on a Redis Cluster (three masters, three replicas), in one
# run, then the unavailable window of Sentinel failovers under a refresh load (issue 16).
# BENCH_TOPOLOGIES (default "single sentinel cluster"), BENCH_SCENARIOS (default "refresh
# refresh-api introspect login revoke"), BENCH_REVOCATIONS (the revoke pool, default 60000),
# BENCH_DURATION (s, default 15; the revoke scenario's BENCH_REVOKE_DURATION, default 4, so
# that the pool outlasts it), BENCH_CONNECTIONS (default 64) and BENCH_FAILOVERS (rounds of each
# fault, default 5; 0 skips them) adjust it. Sourced by ops/bench after common.sh, topology.sh
# and bench-hub.sh.
#
# Redis CPU is every Redis process of the topology together: replicas apply each write again,
# and Sentinels ping, so it grows with the topology on the same load. All of it shares the
# machine's cores with the hub and wrk. "redis µs/req" leaves out the topology's idle
# background (measured for 5 s before the scenarios, with the hub running and no requests),
# so it is what each request adds, replication included.

bench_topologies() {
    local duration=${BENCH_DURATION:-15} connections=${BENCH_CONNECTIONS:-64} threads=2 sessions=2048
    local topologies=${BENCH_TOPOLOGIES:-single sentinel cluster}
    local scenarios=${BENCH_SCENARIOS:-refresh refresh-api introspect login revoke} revocations=${BENCH_REVOCATIONS:-60000}
    local revoke_duration=${BENCH_REVOKE_DURATION:-4}
    local failovers=${BENCH_FAILOVERS:-5}
    ensure_system_packages python3
    log "building hallpass-bench (release)"
    swift build -c release --package-path Benchmarks --product hallpass-bench
    local bench_bin
    bench_bin="$(swift build -c release --package-path Benchmarks --show-bin-path)/hallpass-bench"
    RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hallpass-bench-topologies.XXXXXX")

    local topology scenario
    for topology in $topologies; do
        # shellcheck disable=SC2086 # BENCH_HUB_FLAGS is a list of flags
        BENCH_TOPOLOGY=$topology start_bench_hub ${BENCH_HUB_FLAGS:-}
        local base=$BENCH_BASE
        eval "$("$bench_bin" seed-hub --redis "$BENCH_REDIS_URL")"
        export BENCH_USER BENCH_PASSWORD
        BENCH_BASIC=$(printf '%s:%s' "$BENCH_CLIENT" "$BENCH_SECRET" | base64 -w0)
        export BENCH_BASIC
        BENCH_TOKEN=$(curl -fs -u "$BENCH_CLIENT:$BENCH_SECRET" "$base/oauth2/token" \
            -d grant_type=password -d "username=$BENCH_USER" -d "password=$BENCH_PASSWORD" |
            grep -o '"access_token":"[^"]*"' | cut -d'"' -f4)
        export BENCH_TOKEN

        local idle_before idle_after
        idle_before=$(redis_cpu_seconds); sleep 5; idle_after=$(redis_cpu_seconds)
        export REDIS_IDLE_RATE
        REDIS_IDLE_RATE=$(echo "($idle_after - $idle_before) / 5" | bc -l)
        printf '\n%s: %s Redis processes, idle %.1f%% of a core; wrk -t%s -c%s -d%ss on the same %s-core machine (load average before: %s)\n' \
            "$topology" "$(redis_topology_pids | wc -l)" "$(echo "$REDIS_IDLE_RATE * 100" | bc -l)" "$threads" "$connections" \
            "$duration" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
        printf '%-16s %10s %9s %9s %9s %10s %10s %10s %12s %8s %12s %11s\n' scenario "req/s" p50 p99 non-2xx "hub CPU" "redis CPU" \
            "wrk CPU" "hub µs/req" errors "redis µs/req" "main µs/req"
        for scenario in $scenarios; do
            case $scenario in
            refresh | refresh-api)
                local scope="openid profile"
                [ "$scenario" = refresh-api ] && scope=profile
                # Sessions of 256 users, made in the store: spread over every user shard (and so
                # over a cluster's masters) as real traffic is; one user would load one master.
                "$bench_bin" seed-sessions --redis "$BENCH_REDIS_URL" --count "$sessions" --scope "$scope" \
                    >"$RUN_DIR/refresh-tokens-$scenario"
                run_wrk "$scenario" "$base" "$duration" "$connections" "$threads" Benchmarks/wrk/refresh.lua \
                    -- "$RUN_DIR/refresh-tokens-$scenario" "$threads" ;;
            introspect) run_wrk introspect "$base" "$duration" "$connections" "$threads" Benchmarks/wrk/introspect.lua ;;
            login) run_wrk login "$base" "$duration" 8 "$threads" Benchmarks/wrk/login.lua ;;
            login-cheap) run_cheap_logins "$base" "$duration" "$connections" "$threads" ;;
            revoke)
                # Sessions of 256 users made straight in the store, as above: logins at the
                # Argon2id rate could not fill a pool that lasts the run. Each request revokes
                # one live grant (RFC 7009).
                log "opening $revocations sessions in the store for a revocation pool"
                "$bench_bin" seed-sessions --redis "$BENCH_REDIS_URL" --count "$revocations" >"$RUN_DIR/revoke-tokens"
                run_wrk revoke "$base" "$revoke_duration" "$connections" "$threads" Benchmarks/wrk/revoke.lua \
                    -- "$RUN_DIR/revoke-tokens" "$threads"
                local revoked
                revoked=$(awk '/requests in/ { print $1 }' "$RUN_DIR/wrk-revoke.txt")
                if [ "${revoked:-0}" -ge "$revocations" ]; then
                    log "the revocation pool ran out before the run ended: its req/s is understated (raise BENCH_REVOCATIONS)"
                fi ;;
            *) log "unknown scenario $scenario (refresh refresh-api introspect login login-cheap revoke)"; return 1 ;;
            esac
        done
        if [ "$topology" = sentinel ] && [ "$failovers" -gt 0 ]; then
            bench_sentinel_failovers "$failovers"
        fi
        stop_bench_hub
    done
}

# bench_sentinel_failovers ROUNDS: on the Sentinel topology start_bench_hub started, ROUNDS
# rounds each of SENTINEL FAILOVER and of the master SIGKILLed (then restarted, to rejoin as a
# replica), each under ops/lib/failover.py's refresh load; prints every round and p50/max of
# the unavailable window per fault.
bench_sentinel_failovers() {
    local rounds=$1 fault round
    local sentinel=${REDIS_SENTINEL_PORTS[0]}
    printf '\nSentinel failovers under a refresh load (4 clients rotating refresh tokens; down-after-milliseconds 5000, as ops/run)\n'
    printf '%-18s %6s %9s %10s %8s %s\n' fault round requests "window ms" errors statuses
    for fault in failover kill; do
        local windows=()
        for round in $(seq 1 "$rounds"); do
            local master_port
            master_port=$(rcli -p "$sentinel" SENTINEL get-master-addr-by-name hallpass | tail -n 1)
            python3 "$HALLPASS_ROOT/ops/lib/failover.py" --port "$BENCH_PORT" --client "$BENCH_CLIENT" \
                --secret "$BENCH_SECRET" --user "$BENCH_USER" --password "$BENCH_PASSWORD" \
                >"$RUN_DIR/failover-$fault-$round.json" 2>>"$RUN_DIR/failover.log" &
            local load=$!
            sleep 3
            case $fault in
            failover)
                # Refused (NOGOODSLAVE) until the Sentinels see a replica in good health again.
                local tries
                for tries in $(seq 1 300); do
                    rcli -p "$sentinel" SENTINEL FAILOVER hallpass 2>/dev/null | grep -q OK && break
                    sleep 0.1
                done ;;
            kill)
                local pid dir
                pid=$(rcli -p "$master_port" INFO server | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }')
                dir=$(rcli -p "$master_port" CONFIG GET dir | tail -n 1)
                kill -9 "$pid" ;;
            esac
            wait_for_new_master "$sentinel" "$master_port" || { kill "$load"; return 1; }
            if [ "$fault" = kill ]; then
                # The old master comes back; the Sentinels make it a replica of the new one.
                START_REDIS_PORT=$master_port start_redis_node "$dir" --appendonly yes --appendfsync everysec \
                    --maxmemory-policy noeviction --save '' 2>>"$RUN_DIR/failover.log" || return 1
            fi
            # The load runs on until the hub has served a while on the new master.
            sleep 4
            kill "$load"
            wait "$load" 2>/dev/null || true
            local summary window
            summary=$(cat "$RUN_DIR/failover-$fault-$round.json")
            window=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["unavailable_ms"])' "$summary")
            windows+=("$window")
            printf '%-18s %6s %9s %10s %8s %s\n' "$fault" "$round" \
                "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$summary")" "$window" \
                "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' "$summary")" \
                "$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["statuses"]))' "$summary")"
            # Let replication settle before the next round.
            sleep 2
        done
        printf '%-18s unavailable window over %s rounds: p50 %s ms, max %s ms\n' "$fault" "$rounds" \
            "$(printf '%s\n' "${windows[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" \
            "$(printf '%s\n' "${windows[@]}" | sort -n | tail -n 1)"
    done
}

# wait_for_new_master SENTINEL_PORT OLD_MASTER_PORT: until the Sentinels name another master and
# it says it is one (up to 60 s).
wait_for_new_master() {
    local sentinel=$1 old=$2 attempt now
    for attempt in $(seq 1 600); do
        now=$(rcli -p "$sentinel" SENTINEL get-master-addr-by-name hallpass 2>/dev/null | tail -n 1)
        if [ -n "$now" ] && [ "$now" != "$old" ] && rcli -p "$now" ROLE 2>/dev/null | head -n 1 | grep -q master; then
            return 0
        fi
        sleep 0.1
    done
    log "the Sentinels named no new master within 60 s"
    return 1
}
