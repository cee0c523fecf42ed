import HallpassRedis

/// What Redis promises about an acknowledged write, as far as this store's Redis user may ask;
/// see ``HallpassStore/persistenceReport()``.
public struct PersistenceReport: Sendable, Equatable {
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
    /// Asks Redis how it persists and replicates, and says what that means for security writes.
    ///
    /// With no replicas to wait for (``StoreDurability/replicas`` 0), an acknowledged write
    /// survives a crash only if the server fsyncs its append-only file before replying
    /// (`appendonly yes`, `appendfsync always`). With replicas, `WAIT` carries the promise and
    /// the server must have that many connected. On a cluster the answer is one master's.
    public func persistenceReport() async throws(StoreError) -> PersistenceReport {
        let results: [Result<RedisValue, RedisError>]
        do {
            results = try await redis.pipeline([
                RedisCommand("CONFIG", "GET", "appendonly"), RedisCommand("CONFIG", "GET", "appendfsync"),
                RedisCommand("CONFIG", "GET", "min-replicas-to-write"), RedisCommand("INFO", "replication"),
            ])
        } catch {
            throw StoreError(error)
        }
        func setting(_ index: Int) -> String? {
            guard index < results.count, case .success(let value) = results[index], let pair = value.array, pair.count == 2 else { return nil }
            return pair[1].string
        }
        var report = PersistenceReport(
            appendOnly: setting(0), appendFsync: setting(1), minReplicasToWrite: setting(2).flatMap { Int($0) }, connectedReplicas: nil,
            warnings: [], notes: [])
        if results.count == 4, case .success(let info) = results[3], let text = info.string {
            report.connectedReplicas = Self.infoField("connected_slaves", in: text).flatMap { Int($0) }
        }
        let required = durability.replicas
        if required == 0 {
            switch (report.appendOnly, report.appendFsync) {
            case ("yes", "always"):
                break
            case (let appendOnly?, let fsync?):
                report.warnings.append(
                    "Redis does not fsync before it replies (appendonly \(appendOnly), appendfsync \(fsync)): a revocation, logout or "
                        + "disable acknowledged just before Redis crashes can be undone when it restarts. Set appendonly yes and "
                        + "appendfsync always, or run replicas and wait for them (--durable-replicas 1)")
            default:
                report.warnings.append(
                    "cannot check whether Redis fsyncs before it replies (CONFIG GET refused to this Redis user): unless it has "
                        + "appendonly yes and appendfsync always, a revocation or logout acknowledged just before a crash can be undone")
            }
        } else {
            if let connected = report.connectedReplicas, connected < required {
                report.warnings.append(
                    "the Redis master has \(connected) replica(s) connected, fewer than the \(required) every security write waits for: "
                        + "revocations, logouts and disables answer 503 until enough replicas are back")
            } else if report.connectedReplicas == nil {
                report.warnings.append(
                    "cannot check the Redis master's replicas (INFO refused to this Redis user); security writes wait for \(required)")
            }
            if report.minReplicasToWrite == 0 {
                report.notes.append(
                    "min-replicas-to-write is 0: a master cut off from its replicas keeps taking logins and refreshes that a failover "
                        + "then discards; min-replicas-to-write 1 with min-replicas-max-lag 10 makes it refuse them instead (503)")
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
