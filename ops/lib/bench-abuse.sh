# ops/bench abuse: ordinary requests (GET /healthz with wrk) against one release hub, alone and
# then while ops/lib/abuse.py abuses it: 1000 idle keep-alive connections, 200 slowloris
# connections, and loops of oversized heads, Content-Length with Transfer-Encoding, and
# pipelined garbage (issue 19). The hub runs with its default limits. BENCH_DURATION (s,
# default 10), BENCH_CONNECTIONS (default 16) and BENCH_SCENARIOS (default "baseline idle
# slowloris oversized clte garbage baseline") adjust it. Sourced by ops/bench after
# common.sh and bench-hub.sh. Prints, for each scenario, the ordinary request rate, p50/p99
# latency, the hub's CPU and its open file descriptors and memory at the end of the run; what
# the abuser did goes to the log.

bench_abuse() {
    local duration=${BENCH_DURATION:-10} connections=${BENCH_CONNECTIONS:-16} threads=2
    local scenarios=${BENCH_SCENARIOS:-baseline idle slowloris oversized clte garbage baseline}
    ensure_system_packages python3
    start_bench_hub
    ABUSE_PID=
    trap '[ -n "$ABUSE_PID" ] && kill "$ABUSE_PID" 2>/dev/null; [ -n "$HUB_PID" ] && kill "$HUB_PID" 2>/dev/null
        stop_redis; rm -rf "$RUN_DIR"' EXIT

    printf '\nGET /healthz, wrk -t%s -c%s -d%ss, on the same %s-core machine as the hub (load average before: %s)\n' \
        "$threads" "$connections" "$duration" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-16s %10s %9s %9s %9s %10s %10s %8s %9s %9s %12s %11s\n' scenario "req/s" p50 p99 non-2xx "hub CPU" "redis CPU" \
        "wrk CPU" "hub µs/req" errors "redis µs/req" "main µs/req"
    local scenario
    for scenario in $scenarios; do
        case $scenario in
        baseline) ;;
        idle | slowloris | oversized | clte | garbage)
            python3 "$HALLPASS_ROOT/ops/lib/abuse.py" "$scenario" --port "$BENCH_PORT" \
                2>>"$RUN_DIR/abuse.log" &
            ABUSE_PID=$!
            # Let the abuse build up (1000 connections take a moment) before measuring.
            sleep 2 ;;
        *) log "unknown scenario $scenario (baseline idle slowloris oversized clte garbage)"; return 1 ;;
        esac
        # The abuser shares the machine's cores with the hub and wrk: its CPU is shown too.
        local abuser_before=0 abuser_after=0
        [ -n "$ABUSE_PID" ] && abuser_before=$(cpu_seconds "$ABUSE_PID")
        run_wrk "$scenario" "$BENCH_BASE" "$duration" "$connections" "$threads" Benchmarks/wrk/healthz.lua
        [ -n "$ABUSE_PID" ] && abuser_after=$(cpu_seconds "$ABUSE_PID")
        printf '%-16s hub: %s open descriptors, %s MiB resident; abuser CPU %.0f%%\n' "" \
            "$(ls "/proc/$HUB_PID/fd" | wc -l)" "$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$HUB_PID/status")" \
            "$(echo "($abuser_after - $abuser_before) * 100 / $duration" | bc -l)"
        if [ -n "$ABUSE_PID" ]; then
            kill "$ABUSE_PID" 2>/dev/null; wait "$ABUSE_PID" 2>/dev/null || true
            ABUSE_PID=
        fi
    done
    printf '\nthe abusers (connections opened, answers seen):\n'
    cat "$RUN_DIR/abuse.log"
    printf 'the hub after: %s open descriptors; its connection metrics:\n' "$(ls "/proc/$HUB_PID/fd" | wc -l)"
    curl -fs "$BENCH_BASE/metrics" | grep -E '^hallpass_(connections_closed_total|open_connections)' || true
}
