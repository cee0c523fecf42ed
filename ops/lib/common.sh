# Shared by the ops/ scripts: installing what Hallpass needs on a fresh Debian machine and
# running a throwaway redis-server. Source it; it defines functions and changes nothing else.

HALLPASS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HALLPASS_SYSTEM_PACKAGES=(redis-server redis-tools libhiredis-dev libssl-dev openssl libargon2-dev libqrencode-dev pkg-config python3-venv)

log() { printf '[hallpass] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root to run: $*"; return 1
    fi
}

# Installs the Debian packages that are missing; does nothing (and no network) when all are there.
ensure_system_packages() {
    local missing=() package
    for package in "${HALLPASS_SYSTEM_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # The Debian package starts a system Redis on 6379; Hallpass never relies on it.
}

ensure_swift() {
    if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then
        export PATH=/opt/swift/usr/bin:$PATH
    fi
    command -v swift >/dev/null || { log "swift is not installed (expected at /opt/swift)"; return 1; }
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Redis over TLS. With HALLPASS_REDIS_TLS_DIR set to a directory made by make_redis_tls, every
# redis-server and Sentinel the helpers below start speaks only TLS (to clients, replicas and
# the cluster bus), and rcli reaches them over TLS.
#
# make_redis_tls DIR: a throwaway CA (DIR/ca.crt) and one certificate for 127.0.0.1 and
# localhost (DIR/node.crt, DIR/node.key) that every node presents, as a server and as a client
# (replication and the cluster bus demand a client certificate), made with openssl.
make_redis_tls() {
    local dir=$1
    mkdir -p "$dir"
    chmod 700 "$dir"
    [ -s "$dir/ca.crt" ] && [ -s "$dir/node.crt" ] && [ -s "$dir/node.key" ] && return 0
    (
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Hallpass ops-run CA" \
            -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
            -keyout "$dir/node.key" -out "$dir/node.csr" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$dir/node.ext"
        openssl x509 -req -in "$dir/node.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 30 \
            -extfile "$dir/node.ext" -out "$dir/node.crt" 2>/dev/null
    ) || { log "could not make the TLS certificates in $dir"; return 1; }
    chmod 644 "$dir/ca.crt"
    log "made a throwaway CA for Redis TLS: $dir/ca.crt"
}

# rcli ARGS...: redis-cli, over TLS when HALLPASS_REDIS_TLS_DIR is set.
rcli() {
    if [ -n "${HALLPASS_REDIS_TLS_DIR:-}" ]; then
        redis-cli --tls --cacert "$HALLPASS_REDIS_TLS_DIR/ca.crt" "$@"
    else
        redis-cli "$@"
    fi
}

# redis_listen_settings PORT: the redis-server (or sentinel.conf, one per line with --conf) settings
# for listening on PORT, in plaintext or, with HALLPASS_REDIS_TLS_DIR, TLS only.
redis_listen_settings() {
    local port=$1 dir=${HALLPASS_REDIS_TLS_DIR:-}
    if [ -z "$dir" ]; then
        printf '%s\n' --port "$port"
        return
    fi
    printf '%s\n' --port 0 --tls-port "$port" --tls-cert-file "$dir/node.crt" --tls-key-file "$dir/node.key" \
        --tls-ca-cert-file "$dir/ca.crt" --tls-auth-clients no --tls-replication yes
}

# start_redis DIR [extra redis-server args...]: starts redis-server on a free loopback port with
# its own data directory and sets REDIS_PORT, REDIS_PID and REDIS_DIR. Stop it with stop_redis.
# With START_REDIS_PORT set, uses that port instead (one attempt).
start_redis() {
    REDIS_DIR=$1; shift
    mkdir -p "$REDIS_DIR"
    local attempt attempts=5
    [ -n "${START_REDIS_PORT:-}" ] && attempts=1
    for attempt in $(seq 1 "$attempts"); do
        REDIS_PORT=${START_REDIS_PORT:-$(free_port)}
        rm -f "$REDIS_DIR/redis.pid"
        local listen
        mapfile -t listen < <(redis_listen_settings "$REDIS_PORT")
        redis-server "${listen[@]}" --bind 127.0.0.1 --dir "$REDIS_DIR" \
            --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" "$@" >/dev/null
        local waited pid reply
        for waited in $(seq 1 100); do
            pid=$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)
            reply=$(rcli -p "$REDIS_PORT" info server 2>&1 | tr -d '\r' || true)
            # Ours only if the server answering on the port is the process we started (a
            # server that demands a password says NOAUTH instead of its process id).
            if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
                { grep -qx "process_id:$pid" <<<"$reply" || grep -q NOAUTH <<<"$reply"; }; then
                REDIS_PID=$pid
                log "redis-server ${REDIS_PID} on 127.0.0.1:${REDIS_PORT} (data in ${REDIS_DIR})"
                return 0
            fi
            sleep 0.05
        done
        log "redis-server did not come up on port $REDIS_PORT (attempt $attempt): $(tail -n 3 "$REDIS_DIR/redis.log" 2>/dev/null)"
    done
    return 1
}

stop_redis() {
    if [ -n "${REDIS_PID:-}" ] && kill -0 "$REDIS_PID" 2>/dev/null; then
        kill "$REDIS_PID" 2>/dev/null || true
        local waited
        for waited in $(seq 1 100); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.05; done
        kill -9 "$REDIS_PID" 2>/dev/null || true
        log "stopped redis-server $REDIS_PID"
    fi
    REDIS_PID=
}

# start_redis_node DIR [extra redis-server args...]: another redis-server (a replica, a cluster
# node) like start_redis, without touching REDIS_PID/REDIS_PORT: sets NODE_PORT and appends the
# process id to HALLPASS_REDIS_NODE_PIDS, which stop_redis_nodes stops.
HALLPASS_REDIS_NODE_PIDS=()
start_redis_node() {
    local saved_pid=${REDIS_PID:-} saved_port=${REDIS_PORT:-} saved_dir=${REDIS_DIR:-}
    start_redis "$@" || return 1
    NODE_PORT=$REDIS_PORT
    HALLPASS_REDIS_NODE_PIDS+=("$REDIS_PID")
    REDIS_PID=$saved_pid REDIS_PORT=$saved_port REDIS_DIR=$saved_dir
}

# start_sentinel DIR MASTER_PORT SERVICE: a Sentinel (redis-server --sentinel) on a free port
# watching 127.0.0.1:MASTER_PORT as SERVICE (quorum 2); sets NODE_PORT.
start_sentinel() {
    local dir=$1 master=$2 service=$3
    mkdir -p "$dir"
    NODE_PORT=$(free_port)
    # sentinel.conf takes the same settings as the command line, one per line without the dashes.
    redis_listen_settings "$NODE_PORT" | paste -d ' ' - - | sed 's/^--//' >"$dir/sentinel.conf"
    cat >>"$dir/sentinel.conf" <<CONF
bind 127.0.0.1
dir $dir
sentinel monitor $service 127.0.0.1 $master 2
sentinel down-after-milliseconds $service 5000
sentinel failover-timeout $service 20000
CONF
    redis-server "$dir/sentinel.conf" --sentinel --daemonize yes --pidfile "$dir/sentinel.pid" --logfile "$dir/sentinel.log" >/dev/null
    local waited
    for waited in $(seq 1 100); do
        if rcli -p "$NODE_PORT" ping 2>/dev/null | grep -q PONG; then
            HALLPASS_REDIS_NODE_PIDS+=("$(cat "$dir/sentinel.pid")")
            log "redis-sentinel $(cat "$dir/sentinel.pid") on 127.0.0.1:$NODE_PORT watching $service"
            return 0
        fi
        sleep 0.05
    done
    log "redis-sentinel did not come up on port $NODE_PORT: $(tail -n 3 "$dir/sentinel.log" 2>/dev/null)"
    return 1
}

stop_redis_nodes() {
    local pid
    for pid in "${HALLPASS_REDIS_NODE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${HALLPASS_REDIS_NODE_PIDS[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -9 "$pid" 2>/dev/null || true
    done
    HALLPASS_REDIS_NODE_PIDS=()
}

# The Redis ACL rules of the validators' user (member apps linking the Hallpass library):
# read-only access to the revocation records, event streams and signing keys, and only the
# commands a validator sends. The same text as StoreSchema.validatorACLRules; a test compares.
HALLPASS_VALIDATOR_ACL_RULES='resetkeys resetchannels -@all +ping +select +xread +xrevrange +xinfo|stream +zrange +hgetall +cluster|shards +asking %R~hp:{h?}:rs %R~hp:{h?}:rg %R~hp:{h?}:nbf %R~hp:{h?}:ev %R~hp:{hg}:rj %R~hp:{hg}:cnbf %R~hp:{hg}:pubkeys'

# create_validator_user PORT PASSWORD_FILE: creates (or resets) the Redis user hallpass-validator
# with the rules above and the password in PASSWORD_FILE. The password goes through stdin
# (redis-cli -x), never onto a command line.
create_validator_user() {
    local port=$1 password_file=$2 rules
    read -ra rules <<<"$HALLPASS_VALIDATOR_ACL_RULES" # read -a: no glob expansion of the key patterns
    printf '>%s' "$(cat "$password_file")" |
        rcli -p "$port" -x ACL SETUSER hallpass-validator reset on "${rules[@]}" >/dev/null
}
