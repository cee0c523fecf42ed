import HallpassRedis

/// What one Redis master promises about an acknowledged write, as far as this store's Redis
/// user may ask; see ``HallpassStore/persistenceReports()``.
public struct PersistenceReport: Sendable, Equatable {
    /// The cluster master this report is of ("host:port"); `nil` outside a cluster, where there
    /// is one master.
    public var node: String?
    /// `appendonly`, or `nil` when `CONFIG GET` was refused (an ACL without it).
    public var appendOnly: String?
    /// `appendfsync`, or `nil` when `CONFIG GET` was refused.
    public var appendFsync: String?
    /// `min-replicas-to-write`, or `nil` when `CONFIG GET` was refused.
    public var minReplicasToWrite: Int?
    /// Replicas connected to the master (`INFO replication`), or `nil` when refused.
    public var connectedReplicas: Int?
    /// One plain sentence per promise of CONTRACT section 5 that this Redis cannot keep as
    /// configured, or that could not be checked; empty when all is well.
    public var warnings: [String]
    /// Advice that does not break a promise (such as `min-replicas-to-write`).
    public var notes: [String]
}

extension HallpassStore {
    private static let persistenceQueries = [
        RedisCommand("CONFIG", "GET", "appendonly"), RedisCommand("CONFIG", "GET", "appendfsync"),
        RedisCommand("CONFIG", "GET", "min-replicas-to-write"), RedisCommand("INFO", "replication"),
    ]

    /// Asks each Redis master that holds Hallpass's keys how it persists and replicates, and
    /// says what that means for security writes: one report outside a cluster, one per master
    /// serving one of the schema's hash tags on a cluster (a master the hub never writes to
    /// cannot break a promise, and one that does must not hide behind the others).
    ///
    /// With no replicas to wait for (``StoreDurability/replicas`` 0), an acknowledged write
    /// survives a crash only if the server fsyncs its append-only file before replying
    /// (`appendonly yes`, `appendfsync always`). With replicas, `WAIT` carries the promise and
    /// the server must have that many connected.
    public func persistenceReports() async throws(StoreError) -> [PersistenceReport] {
        do {
            guard try await redis.clusterTopology() != nil else {
                return [report(of: try await redis.pipeline(Self.persistenceQueries), node: nil)]
            }
            // One connection per master holding some of the schema's tags; every tag has an
            // event stream, so those keys name them all.
            let nodes = try await redis.makeDedicatedConnections(forKeys: StoreSchema.eventStreams)
            var reports: [PersistenceReport] = []
            do {
                for node in nodes {
                    reports.append(report(of: try await node.connection.pipeline(Self.persistenceQueries), node: node.node?.description))
                }
            } catch {
                for node in nodes { await node.connection.close() }
                throw error
            }
            for node in nodes { await node.connection.close() }
            return reports.sorted { ($0.node ?? "") < ($1.node ?? "") }
        } catch {
            throw StoreError(error)
        }
    }

    /// What the answers to ``persistenceQueries`` from one master mean.
    private func report(of results: [Result<RedisValue, RedisError>], node: String?) -> PersistenceReport {
        func setting(_ index: Int) -> String? {
            guard index < results.count, case .success(let value) = results[index], let pair = value.array, pair.count == 2 else { return nil }
            return pair[1].string
        }
        var report = PersistenceReport(
            node: node, appendOnly: setting(0), appendFsync: setting(1), minReplicasToWrite: setting(2).flatMap { Int($0) },
            connectedReplicas: nil, warnings: [], notes: [])
        if results.count == 4, case .success(let info) = results[3], let text = info.string {
            report.connectedReplicas = Self.infoField("connected_slaves", in: text).flatMap { Int($0) }
        }
        let server = node.map { "Redis master \($0)" } ?? "Redis"
        let master = node.map { "the Redis master \($0)" } ?? "the Redis master"
        let required = durability.replicas
        if required == 0 {
            switch (report.appendOnly, report.appendFsync) {
            case ("yes", "always"):
                break
            case (let appendOnly?, let fsync?):
                report.warnings.append(
                    "\(server) does not fsync before it replies (appendonly \(appendOnly), appendfsync \(fsync)): a revocation, logout or "
                        + "disable acknowledged just before it crashes can be undone when it restarts. Set appendonly yes and "
                        + "appendfsync always, or run replicas and wait for them (--durable-replicas 1)")
            default:
                report.warnings.append(
                    "cannot check whether \(server) fsyncs before it replies (CONFIG GET refused to this Redis user): unless it has "
                        + "appendonly yes and appendfsync always, a revocation or logout acknowledged just before a crash can be undone")
            }
        } else {
            if let connected = report.connectedReplicas, connected < required {
                report.warnings.append(
                    "\(master) has \(connected) replica(s) connected, fewer than the \(required) every security write waits for: "
                        + "revocations, logouts and disables answer 503 until enough replicas are back")
            } else if report.connectedReplicas == nil {
                report.warnings.append(
                    "cannot check \(master)'s replicas (INFO refused to this Redis user); security writes wait for \(required)")
            }
            if report.minReplicasToWrite == 0 {
                report.notes.append(
                    "min-replicas-to-write is 0 on \(master): a master cut off from its replicas keeps taking logins and refreshes that "
                        + "a failover then discards; min-replicas-to-write 1 with min-replicas-max-lag 10 makes it refuse them instead (503)")
            }
        }
        return report
    }

    /// The value of `field` in an `INFO` reply.
    static func infoField(_ field: String, in info: String) -> String? {
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix(field + ":") {
            return String(line.dropFirst(field.count + 1).filter { $0 != " " && $0 != "\r" })
        }
        return nil
    }
}
