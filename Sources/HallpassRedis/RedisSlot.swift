/// Redis Cluster's key-to-slot mapping and where each command keeps its keys.
///
/// A cluster splits the key space into 16384 hash slots: a key's slot is the CRC16 (XMODEM
/// variant) of the key, or of its hash tag, modulo 16384. The hash tag is the part between the
/// first `{` and the first `}` after it, when that part is not empty; it is what lets several keys
/// (one user's, one shard's) share a slot and so one node and one script.
public enum RedisSlot {
    /// How many hash slots a Redis Cluster has.
    public static let count = 16384

    /// The hash slot of `key`, following the cluster specification's hash tag rules.
    public static func of(_ key: some Collection<UInt8>) -> Int {
        Int(crc16(hashedPart(of: key)) & 0x3FFF)
    }

    /// The hash slot of `key` (its UTF-8 bytes).
    public static func of(_ key: String) -> Int {
        of(Array(key.utf8))
    }

    /// CRC16/XMODEM (polynomial 0x1021, initial value 0, no reflection, no final XOR), the
    /// checksum Redis Cluster hashes keys with: "123456789" gives 0x31C3.
    public static func crc16(_ bytes: some Collection<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    /// The bytes that are hashed: the hash tag when the key has a non-empty one, else the key.
    static func hashedPart<Bytes: Collection<UInt8>>(of key: Bytes) -> Bytes.SubSequence {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key[...] }
        let afterOpen = key.index(after: open)
        // "{}" is no tag (the whole key is hashed), and only the first "{" counts.
        guard let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen else {
            return key[...]
        }
        return key[afterOpen..<close]
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}

/// Where a command's keys are, so a cluster client can route it to the node serving their slot.
///
/// Fixed positions come from Redis 7.0's own command table (`COMMAND`: first key, last key,
/// step); the commands whose keys move with their arguments (`EVALSHA`, `XREAD`, `ZUNIONSTORE`,
/// ...) are parsed here by their documented syntax. A command Redis lists without keys (`PING`,
/// `INFO`, `SCRIPT LOAD`) has none, and a cluster client may send it to any master.
enum RedisCommandKeys {
    struct Positions {
        /// Index of the first key in the argument vector (the command name is index 0).
        let first: Int
        /// Index of the last key; negative counts from the end (-1 is the last argument).
        let last: Int
        let step: Int

        init(_ first: Int, _ last: Int, _ step: Int) {
            self.first = first
            self.last = last
            self.step = step
        }
    }

    /// The keys of `command`, as the byte strings it carries; empty for a keyless command.
    ///
    /// - Throws: ``RedisError/unsupported(_:)`` for a command whose keys cannot be told from its
    ///   arguments (malformed `numkeys`), rather than guessing a node.
    static func keys(of command: RedisCommand) throws(RedisError) -> [[UInt8]] {
        let arguments = command.arguments
        guard let nameBytes = arguments.first else { return [] }
        let name = String(decoding: nameBytes.map(asciiLowercased), as: UTF8.self)
        switch name {
        case "eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro":
            return try counted(arguments, countAt: 2, command: name)
        case "zdiff", "zinter", "zunion", "sintercard", "zintercard", "lmpop", "zmpop":
            return try counted(arguments, countAt: 1, command: name)
        case "bzmpop", "blmpop":
            return try counted(arguments, countAt: 2, command: name)
        case "zdiffstore", "zinterstore", "zunionstore":
            return try [argument(arguments, 1, command: name)] + counted(arguments, countAt: 2, command: name)
        case "xread", "xreadgroup":
            guard let streams = arguments.firstIndex(where: { $0.map(asciiLowercased) == Array("streams".utf8) }) else {
                throw .unsupported("\(name.uppercased()) without STREAMS: cannot tell its keys")
            }
            let rest = arguments.count - streams - 1
            guard rest > 0, rest % 2 == 0 else {
                throw .unsupported("\(name.uppercased()) with an odd number of stream names and ids")
            }
            return Array(arguments[(streams + 1)..<(streams + 1 + rest / 2)])
        case "sort", "sort_ro", "georadius", "georadiusbymember":
            var keys = [try argument(arguments, 1, command: name)]
            // The destination of STORE / STOREDIST is a key too.
            var index = 2
            while index + 1 < arguments.count {
                let option = arguments[index].map(asciiLowercased)
                if option == Array("store".utf8) || option == Array("storedist".utf8) {
                    keys.append(arguments[index + 1])
                }
                index += 1
            }
            return keys
        case "migrate":
            if let keysToken = arguments.firstIndex(where: { $0.map(asciiLowercased) == Array("keys".utf8) }),
                arguments.count > 3, arguments[3].isEmpty
            {
                return Array(arguments[(keysToken + 1)...])
            }
            return [try argument(arguments, 3, command: name)]
        default:
            break
        }
        var positions = fixed[name]
        if positions == nil, arguments.count > 1 {
            // A container command (XINFO STREAM, OBJECT ENCODING): Redis lists the subcommand.
            let sub = String(decoding: arguments[1].map(asciiLowercased), as: UTF8.self)
            positions = fixed[name + "|" + sub]
        }
        guard let positions, positions.first < arguments.count else { return [] }
        let last = positions.last < 0 ? arguments.count + positions.last : min(positions.last, arguments.count - 1)
        guard last >= positions.first else { return [] }
        return stride(from: positions.first, through: last, by: max(positions.step, 1)).map { arguments[$0] }
    }

    private static func argument(_ arguments: [[UInt8]], _ index: Int, command: String) throws(RedisError) -> [UInt8] {
        guard index < arguments.count else {
            throw .unsupported("\(command.uppercased()) has too few arguments to tell its keys")
        }
        return arguments[index]
    }

    private static func counted(_ arguments: [[UInt8]], countAt index: Int, command: String) throws(RedisError) -> [[UInt8]] {
        let text = String(decoding: try argument(arguments, index, command: command), as: UTF8.self)
        guard let count = Int(text), count >= 0, index + 1 + count <= arguments.count else {
            throw .unsupported("\(command.uppercased()) with a key count that does not match its arguments")
        }
        return Array(arguments[(index + 1)..<(index + 1 + count)])
    }

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// Commands with keys at fixed positions, from Redis 7.0.15's `COMMAND` reply.
    static let fixed: [String: Positions] = [
        "append": .init(1, 1, 1),
        "bitcount": .init(1, 1, 1),
        "bitfield": .init(1, 1, 1),
        "bitfield_ro": .init(1, 1, 1),
        "bitop": .init(2, -1, 1),
        "bitpos": .init(1, 1, 1),
        "blmove": .init(1, 2, 1),
        "blpop": .init(1, -2, 1),
        "brpop": .init(1, -2, 1),
        "brpoplpush": .init(1, 2, 1),
        "bzpopmax": .init(1, -2, 1),
        "bzpopmin": .init(1, -2, 1),
        "copy": .init(1, 2, 1),
        "decr": .init(1, 1, 1),
        "decrby": .init(1, 1, 1),
        "del": .init(1, -1, 1),
        "dump": .init(1, 1, 1),
        "exists": .init(1, -1, 1),
        "expire": .init(1, 1, 1),
        "expireat": .init(1, 1, 1),
        "expiretime": .init(1, 1, 1),
        "geoadd": .init(1, 1, 1),
        "geodist": .init(1, 1, 1),
        "geohash": .init(1, 1, 1),
        "geopos": .init(1, 1, 1),
        "georadius_ro": .init(1, 1, 1),
        "georadiusbymember_ro": .init(1, 1, 1),
        "geosearch": .init(1, 1, 1),
        "geosearchstore": .init(1, 2, 1),
        "get": .init(1, 1, 1),
        "getbit": .init(1, 1, 1),
        "getdel": .init(1, 1, 1),
        "getex": .init(1, 1, 1),
        "getrange": .init(1, 1, 1),
        "getset": .init(1, 1, 1),
        "hdel": .init(1, 1, 1),
        "hexists": .init(1, 1, 1),
        "hget": .init(1, 1, 1),
        "hgetall": .init(1, 1, 1),
        "hincrby": .init(1, 1, 1),
        "hincrbyfloat": .init(1, 1, 1),
        "hkeys": .init(1, 1, 1),
        "hlen": .init(1, 1, 1),
        "hmget": .init(1, 1, 1),
        "hmset": .init(1, 1, 1),
        "hrandfield": .init(1, 1, 1),
        "hscan": .init(1, 1, 1),
        "hset": .init(1, 1, 1),
        "hsetnx": .init(1, 1, 1),
        "hstrlen": .init(1, 1, 1),
        "hvals": .init(1, 1, 1),
        "incr": .init(1, 1, 1),
        "incrby": .init(1, 1, 1),
        "incrbyfloat": .init(1, 1, 1),
        "lcs": .init(1, 2, 1),
        "lindex": .init(1, 1, 1),
        "linsert": .init(1, 1, 1),
        "llen": .init(1, 1, 1),
        "lmove": .init(1, 2, 1),
        "lpop": .init(1, 1, 1),
        "lpos": .init(1, 1, 1),
        "lpush": .init(1, 1, 1),
        "lpushx": .init(1, 1, 1),
        "lrange": .init(1, 1, 1),
        "lrem": .init(1, 1, 1),
        "lset": .init(1, 1, 1),
        "ltrim": .init(1, 1, 1),
        "memory|usage": .init(2, 2, 1),
        "mget": .init(1, -1, 1),
        "move": .init(1, 1, 1),
        "mset": .init(1, -1, 2),
        "msetnx": .init(1, -1, 2),
        "object|encoding": .init(2, 2, 1),
        "object|freq": .init(2, 2, 1),
        "object|idletime": .init(2, 2, 1),
        "object|refcount": .init(2, 2, 1),
        "persist": .init(1, 1, 1),
        "pexpire": .init(1, 1, 1),
        "pexpireat": .init(1, 1, 1),
        "pexpiretime": .init(1, 1, 1),
        "pfadd": .init(1, 1, 1),
        "pfcount": .init(1, -1, 1),
        "pfdebug": .init(2, 2, 1),
        "pfmerge": .init(1, -1, 1),
        "psetex": .init(1, 1, 1),
        "pttl": .init(1, 1, 1),
        "rename": .init(1, 2, 1),
        "renamenx": .init(1, 2, 1),
        "restore": .init(1, 1, 1),
        "restore-asking": .init(1, 1, 1),
        "rpop": .init(1, 1, 1),
        "rpoplpush": .init(1, 2, 1),
        "rpush": .init(1, 1, 1),
        "rpushx": .init(1, 1, 1),
        "sadd": .init(1, 1, 1),
        "scard": .init(1, 1, 1),
        "sdiff": .init(1, -1, 1),
        "sdiffstore": .init(1, -1, 1),
        "set": .init(1, 1, 1),
        "setbit": .init(1, 1, 1),
        "setex": .init(1, 1, 1),
        "setnx": .init(1, 1, 1),
        "setrange": .init(1, 1, 1),
        "sinter": .init(1, -1, 1),
        "sinterstore": .init(1, -1, 1),
        "sismember": .init(1, 1, 1),
        "smembers": .init(1, 1, 1),
        "smismember": .init(1, 1, 1),
        "smove": .init(1, 2, 1),
        "spop": .init(1, 1, 1),
        "spublish": .init(1, 1, 1),
        "srandmember": .init(1, 1, 1),
        "srem": .init(1, 1, 1),
        "sscan": .init(1, 1, 1),
        "ssubscribe": .init(1, -1, 1),
        "strlen": .init(1, 1, 1),
        "substr": .init(1, 1, 1),
        "sunion": .init(1, -1, 1),
        "sunionstore": .init(1, -1, 1),
        "sunsubscribe": .init(1, -1, 1),
        "touch": .init(1, -1, 1),
        "ttl": .init(1, 1, 1),
        "type": .init(1, 1, 1),
        "unlink": .init(1, -1, 1),
        "watch": .init(1, -1, 1),
        "xack": .init(1, 1, 1),
        "xadd": .init(1, 1, 1),
        "xautoclaim": .init(1, 1, 1),
        "xclaim": .init(1, 1, 1),
        "xdel": .init(1, 1, 1),
        "xgroup|create": .init(2, 2, 1),
        "xgroup|createconsumer": .init(2, 2, 1),
        "xgroup|delconsumer": .init(2, 2, 1),
        "xgroup|destroy": .init(2, 2, 1),
        "xgroup|setid": .init(2, 2, 1),
        "xinfo|consumers": .init(2, 2, 1),
        "xinfo|groups": .init(2, 2, 1),
        "xinfo|stream": .init(2, 2, 1),
        "xlen": .init(1, 1, 1),
        "xpending": .init(1, 1, 1),
        "xrange": .init(1, 1, 1),
        "xrevrange": .init(1, 1, 1),
        "xsetid": .init(1, 1, 1),
        "xtrim": .init(1, 1, 1),
        "zadd": .init(1, 1, 1),
        "zcard": .init(1, 1, 1),
        "zcount": .init(1, 1, 1),
        "zincrby": .init(1, 1, 1),
        "zlexcount": .init(1, 1, 1),
        "zmscore": .init(1, 1, 1),
        "zpopmax": .init(1, 1, 1),
        "zpopmin": .init(1, 1, 1),
        "zrandmember": .init(1, 1, 1),
        "zrange": .init(1, 1, 1),
        "zrangebylex": .init(1, 1, 1),
        "zrangebyscore": .init(1, 1, 1),
        "zrangestore": .init(1, 2, 1),
        "zrank": .init(1, 1, 1),
        "zrem": .init(1, 1, 1),
        "zremrangebylex": .init(1, 1, 1),
        "zremrangebyrank": .init(1, 1, 1),
        "zremrangebyscore": .init(1, 1, 1),
        "zrevrange": .init(1, 1, 1),
        "zrevrangebylex": .init(1, 1, 1),
        "zrevrangebyscore": .init(1, 1, 1),
        "zrevrank": .init(1, 1, 1),
        "zscan": .init(1, 1, 1),
        "zscore": .init(1, 1, 1),
    ]
}
