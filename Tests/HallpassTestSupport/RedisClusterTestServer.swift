public import Foundation

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
    /// of its keys a few at a time (pausing `pause` between batches, so traffic meets the slot
    /// half moved), then `SETSLOT NODE` on the target, the source and the other masters.
    /// Returns the ports of the source and the target.
    @discardableResult
    public func moveSlot(_ slot: Int, pause: TimeInterval = 0.02) async throws -> (from: Int, to: Int) {
        try await onBlockingThread { try self.moveSlotBlocking(slot, pause: pause) }
    }

    private func moveSlotBlocking(_ slot: Int, pause: TimeInterval) throws -> (from: Int, to: Int) {
        // "<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>"
        let lines = try self.redisCLI(["-p", "\(nodes[0].port)", "CLUSTER", "NODES"]).split(separator: "\n")
        var masters: [(id: String, port: Int, slots: [ClosedRange<Int>])] = []
        for line in lines {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 8, fields[2].contains("master"), !fields[2].contains("fail") else { continue }
            let address = fields[1].split(separator: "@")[0]
            guard let port = address.split(separator: ":").last.flatMap({ Int($0) }) else { continue }
            let ranges = fields.dropFirst(8).compactMap { range -> ClosedRange<Int>? in
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                if bounds.count == 1 { return bounds[0]...bounds[0] }
                return bounds.count == 2 ? bounds[0]...bounds[1] : nil
            }
            masters.append((fields[0], port, ranges))
        }
        guard let source = masters.first(where: { $0.slots.contains { $0.contains(slot) } }),
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
            let keys = try on(source.port, ["CLUSTER", "GETKEYSINSLOT", "\(slot)", "5"]).split(separator: "\n").map(String.init)
                .filter { !$0.isEmpty }
            if keys.isEmpty { break }
            _ = try on(source.port, ["MIGRATE", "127.0.0.1", "\(target.port)", "", "0", "5000", "KEYS"] + keys)
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
