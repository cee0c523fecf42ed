public import Foundation
public import HallpassRedis
public import Logging

/// A real Redis Cluster that a test starts: `masters` masters with `replicasPerMaster` replicas
/// each, every node a `redis-server --cluster-enabled yes` on a free loopback port with a data
/// directory and cluster config file of its own, joined with `redis-cli --cluster create` (or,
/// for masters alone, the same steps taken here without its slow wait).
///
/// ``start(masters:replicasPerMaster:)`` returns once every node reports `cluster_state:ok`
/// and agrees on who serves every slot. Call ``stop()`` when done: it stops every node, also
/// after a failed start.
public final class RedisClusterTestServer: Sendable {
    /// Every node, in the order given to `redis-cli --cluster create` (masters first).
    public let nodes: [RedisTestServer]
    /// Set for a cluster whose nodes speak TLS only, to clients and to each other.
    public let tls: RedisTestServer.TLS?

    private init(nodes: [RedisTestServer], tls: RedisTestServer.TLS?) {
        self.nodes = nodes
        self.tls = tls
    }

    /// The `redis+cluster://` URL with every node as a seed (`rediss+cluster://` with TLS).
    public var url: String {
        "\(tls == nil ? "redis" : "rediss")+cluster://" + nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
    }

    /// Starts the nodes and joins them into a cluster (node timeout 2 s, so a failover takes a
    /// few seconds, not fifteen). With `tls`, every node speaks only TLS, on the cluster bus
    /// and to its replicas too.
    public static func start(
        masters: Int = 3, replicasPerMaster: Int = 1, tls: RedisTestServer.TLS? = nil
    ) async throws -> RedisClusterTestServer {
        var nodes: [RedisTestServer] = []
        do {
            for _ in 0..<(masters * (1 + replicasPerMaster)) {
                nodes.append(try await startNode(tls: tls))
            }
            let cluster = RedisClusterTestServer(nodes: nodes, tls: tls)
            try await onBlockingThread {
                try cluster.create(replicasPerMaster: replicasPerMaster)
                try cluster.waitUntilSettled(seconds: 60)
                try cluster.waitUntilReplicasOnline(masters: masters, replicasPerMaster: replicasPerMaster, seconds: 60)
            }
            return cluster
        } catch {
            for node in nodes { await node.stop() }
            throw error
        }
    }

    /// Starts one cluster-enabled node. The cluster bus defaults to the port + 10000, which is
    /// out of range for half the ports the kernel hands out, so it gets a free port of its own,
    /// picked before the node binds it: another process can take it in between (seen with a
    /// few dozen servers starting at once), and ``RedisTestServer/start(password:durable:arguments:tls:)``
    /// retries with the same arguments, so a node that failed to start gets a fresh bus port here.
    private static func startNode(tls: RedisTestServer.TLS?) async throws -> RedisTestServer {
        var lastError: (any Error)?
        for _ in 0..<3 {
            do {
                return try await RedisTestServer.start(
                    arguments: [
                        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                        "--cluster-port", "\(try freeLoopbackPort())", "--cluster-node-timeout", "2000",
                        // A test that fails a master over must not wait on a replica that lost
                        // touch for a moment.
                        "--cluster-replica-validity-factor", "0",
                    ] + (tls == nil ? [] : ["--tls-cluster", "yes", "--tls-replication", "yes"]),
                    tls: tls)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestSupportError.serverDidNotStart("cluster node")
    }

    /// Stops every node and removes their directories.
    public func stop() async {
        for node in nodes { await node.stop() }
    }

    /// Runs `redis-cli -p PORT ARGS...` against node `index` and returns its output (raw
    /// replies, one per line), for admin commands a test issues (`CLUSTER FAILOVER`).
    public func cli(_ index: Int, _ arguments: [String]) async throws -> String {
        let port = nodes[index].port
        return try await onBlockingThread { try self.redisCLI(["-p", "\(port)"] + arguments) }
    }

    /// Waits until every node says `cluster_state:ok` and all agree on the master of every slot.
    public func waitUntilSettled(seconds: Double = 30) async throws {
        try await onBlockingThread { try self.waitUntilSettled(seconds: seconds) }
    }

    /// Moves hash slot `slot` from its master to another master, as `redis-cli --cluster
    /// reshard` does: `SETSLOT IMPORTING` on the target, `MIGRATING` on the source, `MIGRATE`
    /// of its keys `batch` at a time (pausing `pause` between batches, so traffic meets the slot
    /// half moved), then `SETSLOT NODE` on the target, the source and the other masters.
    /// Returns the ports of the source and the target.
    @discardableResult
    public func moveSlot(_ slot: Int, batch: Int = 5, pause: TimeInterval = 0.02) async throws -> (from: Int, to: Int) {
        try await onBlockingThread { try self.moveSlotBlocking(slot, batch: batch, pause: pause) }
    }

    /// One node as another node's `CLUSTER NODES` describes it.
    public struct NodeView: Sendable, Hashable {
        public var id: String
        public var port: Int
        /// `myself`, `master`, `slave`, `fail`, `fail?`, ... as listed.
        public var flags: Set<String>
        /// The id of its master, for a replica.
        public var masterID: String?
        /// The slots it serves, for a master.
        public var slots: [ClosedRange<Int>]

        public var isMaster: Bool { flags.contains("master") }
        /// Flagged failed (`fail`) or suspected (`fail?`) by the node asked.
        public var isFailing: Bool { flags.contains("fail") || flags.contains("fail?") }
        public func serves(_ slot: Int) -> Bool { slots.contains { $0.contains(slot) } }
    }

    /// The cluster as node `index` sees it (`CLUSTER NODES`; slots being moved, `[slot->-id]`,
    /// are left out).
    public func view(from index: Int) async throws -> [NodeView] {
        let port = nodes[index].port
        return try await onBlockingThread { try self.viewBlocking(fromPort: port) }
    }

    /// The index in ``nodes`` of the master serving `slot`, as the first node not in `excluding`
    /// that answers sees it (a killed node answers nothing: leave it out).
    public func master(ofSlot slot: Int, excluding: Set<Int> = []) async throws -> Int? {
        for index in nodes.indices where !excluding.contains(index) {
            guard let view = try? await self.view(from: index) else { continue }
            guard let master = view.first(where: { $0.isMaster && !$0.isFailing && $0.serves(slot) }) else { return nil }
            return nodes.firstIndex { $0.port == master.port }
        }
        return nil
    }

    /// The indexes in ``nodes`` of the replicas online at the master at `index`, as its
    /// `INFO replication` lists them (its `CLUSTER NODES` may learn of them later).
    public func replicas(of index: Int) async throws -> [Int] {
        // "slave0:ip=127.0.0.1,port=40001,state=online,offset=...,lag=0"
        let info = try await self.cli(index, ["INFO", "replication"])
        let ports = Set(
            info.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("slave") && $0.contains("state=online") }.compactMap { line in
                line.split(separator: ",").first { $0.hasPrefix("port=") }.flatMap { Int($0.dropFirst("port=".count)) }
            })
        return nodes.indices.filter { ports.contains(nodes[$0].port) }
    }

    /// Waits until every replica of the master at `index` has applied everything the master
    /// had written when called. `WAIT` would not do: it covers only the writes of the
    /// connection it is sent on, not those of the hub's or a validator's connections.
    public func waitUntilReplicated(master index: Int, seconds: Double = 10) async throws {
        func offset(_ node: Int) async throws -> Int64 {
            let info = try await self.cli(node, ["INFO", "replication"])
            let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("master_repl_offset:") }
            return line.flatMap { Int64($0.dropFirst("master_repl_offset:".count).trimmingCharacters(in: .whitespaces)) } ?? -1
        }
        let replicas = try await self.replicas(of: index)
        guard !replicas.isEmpty else { throw TestSupportErrorBox(description: "node \(nodes[index].port) has no replica") }
        let target = try await offset(index)
        try await waitUntil("the replicas of \(nodes[index].port) to catch up", seconds: seconds) {
            for replica in replicas where try await offset(replica) < target { return false }
            return true
        }
    }

    private func viewBlocking(fromPort port: Int) throws -> [NodeView] {
        // "<id> <ip:port@bus[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slots...>"
        try self.redisCLI(["-p", "\(port)", "CLUSTER", "NODES"]).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 8 else { return nil }
            let address = fields[1].split(separator: "@")[0]
            guard let port = address.split(separator: ":").last.flatMap({ Int($0) }) else { return nil }
            let ranges = fields.dropFirst(8).compactMap { range -> ClosedRange<Int>? in
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                if bounds.count == 1 { return bounds[0]...bounds[0] }
                return bounds.count == 2 ? bounds[0]...bounds[1] : nil
            }
            return NodeView(
                id: fields[0], port: port, flags: Set(fields[2].split(separator: ",").map(String.init)),
                masterID: fields[3] == "-" ? nil : fields[3], slots: ranges)
        }
    }

    private func moveSlotBlocking(_ slot: Int, batch: Int, pause: TimeInterval) throws -> (from: Int, to: Int) {
        let masters = try self.viewBlocking(fromPort: nodes[0].port).filter { $0.isMaster && !$0.isFailing }
        guard let source = masters.first(where: { $0.serves(slot) }),
            let target = masters.first(where: { $0.id != source.id })
        else {
            throw TestSupportErrorBox(description: "no master serves slot \(slot), or no other master to move it to")
        }
        func on(_ port: Int, _ arguments: [String]) throws -> String {
            try self.redisCLI(["-p", "\(port)"] + arguments)
        }
        _ = try on(target.port, ["CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", source.id])
        _ = try on(source.port, ["CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", target.id])
        while true {
            let keys = try on(source.port, ["CLUSTER", "GETKEYSINSLOT", "\(slot)", "\(max(1, batch))"]).split(separator: "\n").map(String.init)
                .filter { !$0.isEmpty }
            if keys.isEmpty { break }
            // redis-cli exits 0 on an error reply; a refused MIGRATE (BUSYKEY: the target has
            // the key already) would otherwise be repeated forever, as the keys stay put.
            let reply = try on(source.port, ["MIGRATE", "127.0.0.1", "\(target.port)", "", "0", "5000", "KEYS"] + keys)
            guard ["OK", "NOKEY"].contains(reply.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw TestSupportErrorBox(
                    description: "MIGRATE of slot \(slot) from \(source.port) to \(target.port) failed for \(keys): \(reply)")
            }
            Thread.sleep(forTimeInterval: pause)
        }
        _ = try on(target.port, ["CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id])
        _ = try on(source.port, ["CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id])
        for master in masters where master.id != source.id && master.id != target.id {
            _ = try on(master.port, ["CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id])
        }
        return (source.port, target.port)
    }

    private func create(replicasPerMaster: Int) throws {
        if replicasPerMaster == 0 {
            try createMastersOnly()
            return
        }
        let addresses = nodes.map { "127.0.0.1:\($0.port)" }
        _ = try self.redisCLI(
            ["--cluster", "create"] + addresses + ["--cluster-replicas", "\(replicasPerMaster)", "--cluster-yes"])
    }

    /// Waits until `masters` nodes are masters with `replicasPerMaster` replicas online each.
    /// A settled layout does not imply it: nodes agree on the slots before every replica has
    /// attached, and a test that fails a master over needs its replica in sync.
    private func waitUntilReplicasOnline(masters: Int, replicasPerMaster: Int, seconds: Double) throws {
        guard replicasPerMaster > 0 else { return }
        let deadline = Date().addingTimeInterval(seconds)
        var ready = 0
        while Date() < deadline {
            ready = 0
            for node in nodes {
                let info = (try? self.redisCLI(["-p", "\(node.port)", "INFO", "replication"])) ?? ""
                let online = info.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("slave") && $0.contains("state=online") }
                if info.contains("role:master"), online.count >= replicasPerMaster { ready += 1 }
            }
            if ready >= masters { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TestSupportErrorBox(description: "only \(ready) of \(masters) masters had \(replicasPerMaster) replicas online after \(seconds) s")
    }

    /// What `redis-cli --cluster create` does for masters alone (even slot ranges, distinct
    /// config epochs, `CLUSTER MEET`), without its wait for the nodes to join: it checks once a
    /// second, which made every cluster start a second or two slower than the join itself.
    /// ``waitUntilSettled(seconds:)`` waits instead, polling every 100 ms.
    private func createMastersOnly() throws {
        // redis-cli's split, so a cluster has the same layout either way.
        let perNode = 16384.0 / Double(nodes.count)
        var first = 0
        for (index, node) in nodes.enumerated() {
            var last = Int((perNode * Double(index + 1) - 1).rounded())
            if index == nodes.count - 1 || last > 16383 { last = 16383 }
            defer { first = last + 1 }
            _ = try redisCLI(["-p", "\(node.port)", "CLUSTER", "ADDSLOTSRANGE", "\(first)", "\(last)"])
            _ = try redisCLI(["-p", "\(node.port)", "CLUSTER", "SET-CONFIG-EPOCH", "\(index + 1)"])
        }
        for node in nodes.dropFirst() {
            guard let flag = node.arguments.firstIndex(of: "--cluster-port"), flag + 1 < node.arguments.count else {
                throw TestSupportErrorBox(description: "node \(node.port) has no --cluster-port")
            }
            _ = try redisCLI(["-p", "\(nodes[0].port)", "CLUSTER", "MEET", "127.0.0.1", "\(node.port)", node.arguments[flag + 1]])
        }
    }

    private func waitUntilSettled(seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            var layouts = Set<String>()
            var allOK = true
            for node in nodes {
                let info = (try? self.redisCLI(["-p", "\(node.port)", "CLUSTER", "INFO"])) ?? ""
                if !info.contains("cluster_state:ok") { allOK = false }
                // Who serves which slots, as this node sees it (replicas list the same masters).
                let slots = (try? self.redisCLI(["-p", "\(node.port)", "CLUSTER", "SLOTS"])) ?? ""
                layouts.insert(Self.masterLayout(slots))
                last = "node \(node.port): \(info.split(separator: "\n").first ?? "")"
            }
            if allOK, layouts.count == 1, layouts.first?.isEmpty == false { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TestSupportErrorBox(description: "the Redis Cluster did not settle within \(seconds) s; last: \(last)")
    }

    /// From `redis-cli CLUSTER SLOTS` output (one value per line: start, end, then per node
    /// ip, port, id, ...), the slot ranges and their masters' ports, normalized for comparing.
    private static func masterLayout(_ output: String) -> String {
        // Raw redis-cli output flattens the nested arrays; comparing it whole (sorted lines of
        // ranges are not recoverable) is enough to tell whether nodes agree.
        output.split(separator: "\n").sorted().joined(separator: ",")
    }

    /// `redis-cli` with this cluster's TLS options, if any, before `arguments`.
    private func redisCLI(_ arguments: [String]) throws -> String {
        let tlsArguments = tls.map { ["--tls", "--cacert", $0.caFile] } ?? []
        return try Self.redisCLI(tlsArguments + arguments)
    }

    static func redisCLI(_ arguments: [String]) throws -> String {
        let executable = try findExecutable("redis-cli")
        let child = Process()
        child.executableURL = executable
        child.arguments = arguments
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        child.standardInput = FileHandle.nullDevice
        try child.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard child.terminationStatus == 0 else {
            throw TestSupportErrorBox(description: "redis-cli \(arguments.joined(separator: " ")) failed: \(text.suffix(400))")
        }
        return text
    }
}

/// Runs `body` with a fresh cluster (``RedisClusterTestServer/start(masters:replicasPerMaster:tls:)``)
/// and a client of it, then shuts the client down and stops the cluster, also when `body` throws.
/// The client's timeouts are as generous as ``testRedisClient(url:caFile:)``'s unless
/// `commandTimeout` says otherwise; with `tls`, it trusts the cluster's CA.
public func withTestCluster(
    masters: Int = 3, replicasPerMaster: Int = 1, tls: RedisTestServer.TLS? = nil,
    commandTimeout: Duration = .seconds(20), clusterRefreshInterval: Duration? = nil, logger: Logger = quietLogger,
    _ body: (RedisClusterTestServer, RedisClient) async throws -> Void
) async throws {
    try await ConcurrencyGate.topologies.withSlot {
        try await runTestCluster(
            masters: masters, replicasPerMaster: replicasPerMaster, tls: tls, commandTimeout: commandTimeout,
            clusterRefreshInterval: clusterRefreshInterval, logger: logger, body)
    }
}

private func runTestCluster(
    masters: Int, replicasPerMaster: Int, tls: RedisTestServer.TLS?, commandTimeout: Duration,
    clusterRefreshInterval: Duration?, logger: Logger, _ body: (RedisClusterTestServer, RedisClient) async throws -> Void
) async throws {
    let cluster = try await RedisClusterTestServer.start(masters: masters, replicasPerMaster: replicasPerMaster, tls: tls)
    let client: RedisClient
    do {
        var configuration = try RedisConfiguration(url: cluster.url)
        if let tls { configuration.tls?.caFile = tls.caFile }
        configuration.connectTimeout = .seconds(20)
        configuration.commandTimeout = commandTimeout
        if let clusterRefreshInterval { configuration.clusterRefreshInterval = clusterRefreshInterval }
        client = RedisClient(configuration: configuration, logger: logger)
    } catch {
        await cluster.stop()
        throw error
    }
    do {
        try await body(cluster, client)
    } catch {
        await client.shutdown()
        await cluster.stop()
        throw error
    }
    await client.shutdown()
    await cluster.stop()
}
