# Redis topologies for ops/run and ops/bench: one server, Sentinel, or a Cluster, on free loopback
# ports. Sourced after common.sh. Every process is stopped by stop_redis and stop_redis_nodes.
#
# start_redis_topology TOPOLOGY DIR [redis-server settings...]: starts
#   single    one redis-server;
#   sentinel  a master, two replicas and three Sentinels (quorum 2) watching the service
#             "hallpass";
#   cluster   three masters and three replicas, joined by redis-cli --cluster create;
# every data node with the settings given, speaking only TLS when HALLPASS_REDIS_TLS_DIR is set
# (common.sh). With VALIDATOR_PASSWORD_FILE set, each data node gets the validators' ACL user
# (ACL users are per server: after a failover it must exist on the new master). Sets
# REDIS_ADDRESSES (what follows the scheme and credentials in a URL: see redis_topology_url),
# REDIS_PORT (the one server, the first master, or the first cluster node), REDIS_DATA_PORTS and
# REDIS_SENTINEL_PORTS. With START_REDIS_PORT set, the single server, the master or the first
# cluster node uses that port. Only the single server keeps its data in DIR between runs.
start_redis_topology() {
    local topology=$1 dir=$2
    shift 2
    local settings=("$@")
    REDIS_DATA_PORTS=() REDIS_SENTINEL_PORTS=()
    case $topology in
    single)
        start_redis "$dir" "${settings[@]}" 9>&- || return 1
        REDIS_DATA_PORTS=("$REDIS_PORT")
        REDIS_ADDRESSES="127.0.0.1:${REDIS_PORT}/0"
        ;;
    sentinel)
        # Fresh data each run: replicas resynchronise from the master anyway.
        rm -rf "$dir"
        start_redis "$dir/master" "${settings[@]}" 9>&- || return 1
        REDIS_DATA_PORTS=("$REDIS_PORT")
        local replica sentinel
        for replica in 1 2; do
            START_REDIS_PORT='' start_redis_node "$dir/replica$replica" "${settings[@]}" --replicaof 127.0.0.1 "$REDIS_PORT" 9>&- ||
                return 1
            REDIS_DATA_PORTS+=("$NODE_PORT")
        done
        local sentinels=()
        for sentinel in 1 2 3; do
            start_sentinel "$dir/sentinel$sentinel" "$REDIS_PORT" hallpass 9>&- || return 1
            sentinels+=("127.0.0.1:$NODE_PORT")
            REDIS_SENTINEL_PORTS+=("$NODE_PORT")
        done
        REDIS_ADDRESSES="$(IFS=,; echo "${sentinels[*]}")/hallpass/0"
        ;;
    cluster)
        # The cluster bus listens on a port of its own (by default the port + 10000, out of
        # range for high ports).
        rm -rf "$dir"
        local cluster_tls=() node nodes=() first_port
        [ -n "${HALLPASS_REDIS_TLS_DIR:-}" ] && cluster_tls=(--tls-cluster yes)
        for node in 1 2 3 4 5 6; do
            local node_settings=("${settings[@]}" --cluster-enabled yes --cluster-config-file nodes.conf
                --cluster-port "$(free_port)" "${cluster_tls[@]}")
            if [ "$node" = 1 ]; then
                start_redis "$dir/node$node" "${node_settings[@]}" 9>&- || return 1
                first_port=$REDIS_PORT NODE_PORT=$REDIS_PORT
            else
                START_REDIS_PORT='' start_redis_node "$dir/node$node" "${node_settings[@]}" 9>&- || return 1
            fi
            REDIS_DATA_PORTS+=("$NODE_PORT")
            nodes+=("127.0.0.1:$NODE_PORT")
        done
        rcli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/cluster-create.log" 2>&1 || {
            log "redis-cli --cluster create failed:"; tail -n 5 "$dir/cluster-create.log" >&2; return 1; }
        local attempt settled address
        for attempt in $(seq 1 200); do
            settled=yes
            for address in "${nodes[@]}"; do
                rcli -p "${address##*:}" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || settled=no
            done
            [ "$settled" = yes ] && break
            [ "$attempt" = 200 ] && { log "the cluster did not reach cluster_state:ok within 20 s"; return 1; }
            sleep 0.1
        done
        REDIS_PORT=$first_port
        REDIS_ADDRESSES=$(IFS=,; echo "${nodes[*]}")
        log "Redis Cluster of 3 masters and 3 replicas on ${REDIS_ADDRESSES}"
        ;;
    *)
        log "unknown Redis topology $topology (single, sentinel or cluster)"
        return 1
        ;;
    esac
    if [ -n "${VALIDATOR_PASSWORD_FILE:-}" ]; then
        local port
        for port in "${REDIS_DATA_PORTS[@]}"; do create_validator_user "$port" "$VALIDATOR_PASSWORD_FILE"; done
    fi
}

# redis_topology_url TOPOLOGY [CREDENTIALS]: the URL of what start_redis_topology started,
# rediss when HALLPASS_REDIS_TLS_DIR is set; CREDENTIALS is "user:password@" or empty.
redis_topology_url() {
    local topology=$1 credentials=${2:-} scheme=redis
    [ -n "${HALLPASS_REDIS_TLS_DIR:-}" ] && scheme=rediss
    case $topology in
    single) echo "${scheme}://${credentials}${REDIS_ADDRESSES}" ;;
    *) echo "${scheme}+${topology}://${credentials}${REDIS_ADDRESSES}" ;;
    esac
}

# redis_topology_pids: the process ids of every redis-server and Sentinel started, for CPU
# accounting.
redis_topology_pids() {
    local pid
    [ -n "${REDIS_PID:-}" ] && echo "$REDIS_PID"
    for pid in "${HALLPASS_REDIS_NODE_PIDS[@]}"; do echo "$pid"; done
}
