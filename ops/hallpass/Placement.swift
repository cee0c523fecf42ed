import ArgumentParser
import HallpassJOSE
import HallpassRedis
import HallpassStore

/// `hallpass placement`: where the 17 hash tags of the key schema live on a Redis Cluster, and
/// which slot moves would spread them evenly across the masters.
///
/// Each tag is one slot, so it is all-or-nothing on one master: on three masters the tags fall
/// 6/5/6 by their slot numbers, and on nine, two masters get nothing. This prints the layout
/// and a plan that moves the fewest tag slots to give every master ⌊17/n⌋ or ⌈17/n⌉ tags; an
/// operator applies it with `redis-cli --cluster` (docs/DEPLOYMENT.md). It changes nothing.
struct Placement: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "placement",
        abstract: "Show which Redis Cluster master holds each of the 17 hash tags, and the slot moves that would even them out.",
        discussion: """
            On one server (or through Sentinel) every tag is on that server and there is nothing \
            to plan. With --json, prints {"tags": [{"tag", "slot", "master"}], "masters": \
            [{"master", "tags"}], "moves": [{"tag", "slot", "from", "to"}]}.
            """)

    @OptionGroup var global: GlobalOptions

    /// One key per tag: the shard's event stream, or the global one.
    static var tagKeys: [(tag: String, key: String)] {
        (0..<StoreSchema.shardCount).map { shard in
            let prefix = StoreSchema.shardPrefix(shard)
            return (String(prefix.dropFirst(4).dropLast(2)), prefix + "ev")
        } + [(String(StoreSchema.globalPrefix.dropFirst(4).dropLast(2)), StoreSchema.globalPrefix + "ev")]
    }

    /// A move of one tag's slot.
    struct Move: Equatable {
        let tag: String
        let slot: Int
        let from: String
        let to: String
    }

    /// The fewest moves that leave every master with ⌊tags/masters⌋ or ⌈tags/masters⌉ tags: the
    /// most loaded masters keep the ceilings, the rest give their extra tags (highest slots
    /// first) to those under their target.
    static func plan(_ placement: [(tag: String, slot: Int, master: String)], masters: [String]) -> [Move] {
        guard !masters.isEmpty else { return [] }
        var held: [String: [(tag: String, slot: Int)]] = Dictionary(uniqueKeysWithValues: masters.map { ($0, []) })
        for entry in placement { held[entry.master, default: []].append((entry.tag, entry.slot)) }
        let low = placement.count / held.count
        let ceilings = placement.count % held.count
        let ordered = held.keys.sorted { (held[$0]?.count ?? 0, $1) > (held[$1]?.count ?? 0, $0) }
        var target: [String: Int] = [:]
        for (index, master) in ordered.enumerated() { target[master] = low + (index < ceilings ? 1 : 0) }
        var givers = ordered.filter { (held[$0]?.count ?? 0) > (target[$0] ?? 0) }
        var takers = ordered.reversed().filter { (held[$0]?.count ?? 0) < (target[$0] ?? 0) }
        var moves: [Move] = []
        while let giver = givers.first, let taker = takers.first, let given = held[giver]?.popLast() {
            held[taker, default: []].append(given)
            moves.append(Move(tag: given.tag, slot: given.slot, from: giver, to: taker))
            if (held[giver]?.count ?? 0) <= (target[giver] ?? 0) { givers.removeFirst() }
            if (held[taker]?.count ?? 0) >= (target[taker] ?? 0) { takers.removeFirst() }
        }
        return moves
    }

    func run() async throws {
        let (placement, masters) = try await StoreConnection.run(global) { connection -> ([(tag: String, slot: Int, master: String)], [String]) in
            let redis = connection.store.redis
            let keys = Self.tagKeys
            let placed = try await redis.placement(ofKeys: keys.map(\.key))
            let topology = try await redis.clusterTopology()
            let rows = zip(keys, placed).map { ($0.tag, $1.slot, $1.node.map { "\($0)" } ?? "(this server)") }
            return (rows, topology?.masters.map { "\($0)" } ?? [])
        }
        let moves = Self.plan(placement, masters: masters)
        var perMaster: [String: Int] = [:]
        for row in placement { perMaster[row.master, default: 0] += 1 }
        for master in masters where perMaster[master] == nil { perMaster[master] = 0 }
        if global.json {
            Console.json([
                "tags": .array(placement.map { ["tag": .string($0.tag), "slot": .integer(Int64($0.slot)), "master": .string($0.master)] }),
                "masters": .array(perMaster.keys.sorted().map { ["master": .string($0), "tags": .integer(Int64(perMaster[$0] ?? 0))] }),
                "moves": .array(moves.map {
                    ["tag": .string($0.tag), "slot": .integer(Int64($0.slot)), "from": .string($0.from), "to": .string($0.to)]
                }),
            ])
            return
        }
        var table = Table("TAG", "SLOT", "MASTER")
        for row in placement { table.add("{\(row.tag)}", String(row.slot), row.master) }
        table.print()
        print("")
        var counts = Table("MASTER", "TAGS")
        for master in perMaster.keys.sorted() { counts.add(master, String(perMaster[master] ?? 0)) }
        counts.print()
        print("")
        if masters.isEmpty {
            print("one server: every tag is on it; nothing to place")
        } else if moves.isEmpty {
            print("the tags are spread as evenly as \(placement.count) tags over \(masters.count) masters allow")
        } else {
            print("to even them out, move these slots (redis-cli --cluster reshard, or CLUSTER SETSLOT; docs/DEPLOYMENT.md):")
            for move in moves { print("  slot \(move.slot) ({\(move.tag)}): \(move.from) -> \(move.to)") }
        }
    }
}
