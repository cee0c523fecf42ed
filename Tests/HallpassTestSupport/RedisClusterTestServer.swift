public import Foundation

/// A real Redis Cluster that a test starts: `masters` masters with `replicasPerMaster` replicas
/// each, every node a `redis-server --cluster-enabled yes` on a free loopback port with a data
/// directory and cluster config file of its own, joined with `redis-cli --cluster create`.
///
/// ``start(masters:replicasPerMaster:)`` returns once every node reports `cluster_state:ok`
/// and agrees on who serves every slot. Call ``stop()`` when done: it stops every node, also
/// after a failed start.
public final class RedisClusterTestServer: Sendable {
    /// Every node, in the order given to `redis-cli --cluster create` (masters first).
    public let nodes: [RedisTestServer]

    private init(nodes: [RedisTestServer]) {
        self.nodes = nodes
    }

    /// The `redis+cluster://` URL with every node as a seed.
    public var url: String {
        "redis+cluster://" + nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
    }

    /// Starts the nodes and joins them into a cluster (node timeout 2 s, so a failover takes a
    /// few seconds, not fifteen).
    public static func start(masters: Int = 3, replicasPerMaster: Int = 1) async throws -> RedisClusterTestServer {
        var nodes: [RedisTestServer] = []
        do {
            for _ in 0..<(masters * (1 + replicasPerMaster)) {
                // The cluster bus defaults to the port + 10000, which is out of range for half
                // the ports the kernel hands out, so it gets a free port of its own.
                nodes.append(
                    try await RedisTestServer.start(arguments: [
                        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                        "--cluster-port", "\(try freeLoopbackPort())", "--cluster-node-timeout", "2000",
                        // A test that fails a master over must not wait on a replica that lost
                        // touch for a moment.
                        "--cluster-replica-validity-factor", "0",
                    ]))
            }
            let cluster = RedisClusterTestServer(nodes: nodes)
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

    /// Stops every node and removes their directories.
    public func stop() async {
        for node in nodes { await node.stop() }
    }

    /// Runs `redis-cli -p PORT ARGS...` against node `index` and returns its output (raw
    /// replies, one per line), for admin commands a test issues (`CLUSTER FAILOVER`).
    public func cli(_ index: Int, _ arguments: [String]) async throws -> String {
        let port = nodes[index].port
        return try await onBlockingThread { try Self.redisCLI(["-p", "\(port)"] + arguments) }
    }

    /// Waits until every node says `cluster_state:ok` and all agree on the master of every slot.
    public func waitUntilSettled(seconds: Double = 30) async throws {
        try await onBlockingThread { try self.waitUntilSettled(seconds: seconds) }
    }

    private func create(replicasPerMaster: Int) throws {
        let addresses = nodes.map { "127.0.0.1:\($0.port)" }
        _ = try Self.redisCLI(
            ["--cluster", "create"] + addresses + ["--cluster-replicas", "\(replicasPerMaster)", "--cluster-yes"])
    }

    private func waitUntilSettled(seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            var layouts = Set<String>()
            var allOK = true
            for node in nodes {
                let info = (try? Self.redisCLI(["-p", "\(node.port)", "CLUSTER", "INFO"])) ?? ""
                if !info.contains("cluster_state:ok") { allOK = false }
                // Who serves which slots, as this node sees it (replicas list the same masters).
                let slots = (try? Self.redisCLI(["-p", "\(node.port)", "CLUSTER", "SLOTS"])) ?? ""
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
