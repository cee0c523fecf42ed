/// Which master serves each hash slot of a Redis Cluster, as `CLUSTER SHARDS` reported it.
///
/// Only masters are kept: this client reads and writes on masters (no `READONLY` replica
/// reads), so a replica's address is of no use until it is promoted, and then a new layout
/// names it.
public struct RedisClusterTopology: Sendable, Hashable {
    /// The master of each slot, as an index into ``masters``; `nil` for a slot no master serves.
    private var owner: [Int16]
    /// Every master that serves at least one slot, in the order the layout listed them.
    public private(set) var masters: [RedisEndpoint]

    /// A layout in which no slot is served.
    init() {
        self.owner = Array(repeating: -1, count: RedisSlot.count)
        self.masters = []
    }

    /// The master serving `slot`, if any.
    public func master(forSlot slot: Int) -> RedisEndpoint? {
        guard (0..<RedisSlot.count).contains(slot) else { return nil }
        let index = Int(self.owner[slot])
        return index >= 0 ? self.masters[index] : nil
    }

    /// The slot ranges each master serves, for reports such as "which node holds which shard".
    public var slotRanges: [RedisEndpoint: [ClosedRange<Int>]] {
        var ranges: [RedisEndpoint: [ClosedRange<Int>]] = [:]
        var start = 0
        while start < RedisSlot.count {
            let index = self.owner[start]
            var end = start
            while end + 1 < RedisSlot.count, self.owner[end + 1] == index { end += 1 }
            if index >= 0 { ranges[self.masters[Int(index)], default: []].append(start...end) }
            start = end + 1
        }
        return ranges
    }

    /// How many slots no master serves (0 in a healthy cluster).
    public var unservedSlotCount: Int {
        self.owner.reduce(0) { $0 + ($1 < 0 ? 1 : 0) }
    }

    /// Records that `master` now serves `slot`, as a `MOVED` reply says, until the next full
    /// layout replaces this one.
    mutating func assign(slot: Int, to master: RedisEndpoint) {
        guard (0..<RedisSlot.count).contains(slot) else { return }
        let index: Int
        if let known = self.masters.firstIndex(of: master) {
            index = known
        } else {
            self.masters.append(master)
            index = self.masters.count - 1
        }
        self.owner[slot] = Int16(index)
    }

    /// Parses a `CLUSTER SHARDS` reply (Redis 7; RESP2 maps come as flat name/value arrays).
    ///
    /// A shard's master is its node whose `role` is `master`; one whose `health` is `fail` is
    /// skipped (its slots stay unserved until a replica takes over). With `tls`, the node's
    /// `tls-port` is used when it has one. The address is the node's `endpoint` (what
    /// `cluster-preferred-endpoint-type` asks clients to use), else its `ip`.
    ///
    /// - Throws: ``RedisError/cluster(_:)`` with ``RedisClusterFailure/malformedLayout(_:)``.
    init(shards reply: RedisValue, tls: Bool) throws(RedisError) {
        self.init()
        guard let shards = reply.array else {
            throw .cluster(.malformedLayout("not an array: \(reply)"))
        }
        for shard in shards {
            let fields = Self.map(shard)
            guard let slotBounds = fields["slots"]?.array, let nodes = fields["nodes"]?.array else {
                throw .cluster(.malformedLayout("a shard without slots or nodes"))
            }
            guard slotBounds.count % 2 == 0 else {
                throw .cluster(.malformedLayout("an odd number of slot bounds"))
            }
            guard !slotBounds.isEmpty else { continue }
            var master: RedisEndpoint?
            for node in nodes {
                let node = Self.map(node)
                guard node["role"]?.string == "master", node["health"]?.string != "fail" else { continue }
                let host = [node["endpoint"]?.string, node["ip"]?.string].compactMap { $0 }
                    .first { !$0.isEmpty && $0 != "?" }
                let tlsPort = node["tls-port"]?.int.flatMap { $0 > 0 ? Int(exactly: $0) : nil }
                let plainPort = node["port"]?.int.flatMap { $0 > 0 ? Int(exactly: $0) : nil }
                guard let host, let port = tls ? (tlsPort ?? plainPort) : plainPort else { continue }
                master = RedisEndpoint(host: host, port: port)
            }
            guard let master else { continue }
            var index = 0
            while index + 1 < slotBounds.count {
                guard let low = slotBounds[index].int, let high = slotBounds[index + 1].int,
                    low >= 0, low <= high, high < RedisSlot.count
                else {
                    throw .cluster(.malformedLayout("slot range \(slotBounds[index])-\(slotBounds[index + 1])"))
                }
                for slot in Int(low)...Int(high) {
                    self.assign(slot: slot, to: master)
                }
                index += 2
            }
        }
        guard !self.masters.isEmpty else {
            throw .cluster(.malformedLayout("no master serves any slot"))
        }
    }

    /// A RESP2 map (a flat array of name, value, ...) as a dictionary.
    private static func map(_ value: RedisValue) -> [String: RedisValue] {
        guard let items = value.array else { return [:] }
        var fields: [String: RedisValue] = [:]
        var index = 0
        while index + 1 < items.count {
            if let name = items[index].string { fields[name] = items[index + 1] }
            index += 2
        }
        return fields
    }
}
