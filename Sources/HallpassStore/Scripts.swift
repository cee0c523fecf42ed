import HallpassRedis

/// Every Lua script Hallpass runs; each multi-key change is one of them, so it is atomic.
///
/// Conventions: `ARGV[1]` is the key prefix of the shard (`hp:{hN}:`, or the global one), from
/// which a script names its keys with `key()`; every key it touches is declared in KEYS, the
/// first ones in the order each script's doc gives, the rest (the shard's event stream,
/// indexes and queues: see ``StoreSchema/sessionKeys(_:userID:prefix:)``) in any order. Keys
/// a script finds by reading (the user of a session, the sessions of a user) are read and
/// declared by the caller first; a script that finds one undeclared fails with `KEYSCHANGED`
/// before writing, and the store reads and runs it again. Times are Unix
/// milliseconds unless a name says seconds. Every change appends its event to the shard's
/// stream in the same script, so no change is committed without its event.
///
/// Every script starts with a `#!lua` shebang (Redis 7 script flags, none set). Without one,
/// Redis runs a script in compatibility mode, which lets it touch keys of several hash slots
/// as long as the node holds them all, so a schema mistake would pass every test and fail
/// only once a real cluster put the slots on different nodes. With it, a cluster node refuses
/// any script whose keys span slots, at once.
enum Scripts {
    /// Helpers shared by the scripts below, prepended to each.
    static let prelude = #"""
    #!lua
    local prefix = ARGV[1]
    local declared = {}
    for _, k in ipairs(KEYS) do declared[k] = true end
    -- Every key a script touches is one of its KEYS, named here through key(), which refuses
    -- any other. A cluster routes a script, and tells it apart from a slot in migration, by its
    -- declared keys alone: a script that also touched an undeclared key could run on the node
    -- the slot is leaving, read that key as missing once it had moved, or create it again
    -- there (the migration then stops on BUSYKEY).
    local function key(name)
      local k = prefix .. name
      if not declared[k] then error('undeclared key ' .. k) end
      return k
    end
    -- Keys found by reading (the user of a session, the sessions of a user) are read by the
    -- caller first and declared. When the script, reading again atomically, finds one that was
    -- not declared, it stops before writing anything, and the caller reads and runs it again.
    local function require_declared(name)
      if not declared[prefix .. name] then error({err = 'KEYSCHANGED ' .. prefix .. name .. ' was not declared'}) end
    end
    -- The sessions whose keys the caller declared, but for `except`.
    local function declared_sessions(except)
      local out, head = {}, prefix .. 's:'
      for _, k in ipairs(KEYS) do
        if k ~= except and string.sub(k, 1, #head) == head then out[#out + 1] = string.sub(k, #head + 1) end
      end
      return out
    end
    local function event(maxlen, kind, user, sid, client, actor, detail)
      redis.call('XADD', key('ev'), 'MAXLEN', '~', maxlen, '*',
        'type', kind, 'user', user or '', 'sid', sid or '', 'client', client or '',
        'actor', actor or '', 'detail', detail or '')
    end
    -- Drops revocation records whose tokens have all expired; keeps memory bounded.
    local function trim(key, now)
      redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. now)
    end
    local function grants(skey)
      local out = {}
      for _, field in ipairs(redis.call('HKEYS', skey)) do
        if string.sub(field, 1, 2) == 'g:' then out[#out + 1] = string.sub(field, 3) end
      end
      return out
    end
    -- Per-session deadline tracking for the expiry sweeper: 'sx' scores each live session by
    -- when it ends unless refreshed, 'sm' keeps what a notification needs once the session
    -- hash has expired ("<uid> <abs> <client> <client>..."). Every script that creates a
    -- session, moves its deadline or changes its grants calls track; ending it calls untrack.
    local function track(sid)
      local skey = key('s:' .. sid)
      local s = redis.call('HMGET', skey, 'u', 'abs', 'seen', 'idle')
      if not s[1] then return end
      local deadline = math.min(tonumber(s[2]), tonumber(s[3]) + tonumber(s[4]))
      redis.call('ZADD', key('sx'), deadline, sid)
      local meta = s[1] .. ' ' .. s[2]
      for _, c in ipairs(grants(skey)) do meta = meta .. ' ' .. c end
      redis.call('HSET', key('sm'), sid, meta)
    end
    -- A rotation moves a session's deadline but not its user, absolute expiry or clients, so
    -- only its 'sx' score changes: one command instead of track's four. When ZADD XX CH
    -- changes nothing (the session was not tracked, or the deadline is the same millisecond)
    -- it falls back to track, so 'sm' is never missing for a tracked session.
    local function retrack(sid, deadline)
      if redis.call('ZADD', key('sx'), 'XX', 'CH', deadline, sid) == 0 then track(sid) end
    end
    local function untrack(sid)
      redis.call('ZREM', key('sx'), sid)
      redis.call('HDEL', key('sm'), sid)
    end
    -- Queues one back-channel logout delivery per client of an ended session ('bq', scored by
    -- the next attempt), with a status record per session ('bl:<sid>', kept 48 h). Clients
    -- without a registered URI are dropped by the hub at delivery time (their URI is a
    -- global key, outside this script's slot).
    local function enqueue_logout(sid, uid, clients, now)
      if #clients == 0 then return end
      local bl = key('bl:' .. sid)
      redis.call('HSET', bl, 'u', uid, 't', now)
      for _, c in ipairs(clients) do
        redis.call('HSET', bl, 's:' .. c, 'pending', 'n:' .. c, 0)
        redis.call('ZADD', key('bq'), now, sid .. ' ' .. c)
      end
      redis.call('PEXPIRE', bl, 172800000)
    end
    -- What every end of a session does once it is gone: the revocation record, the event
    -- and the back-channel logout deliveries, all in the same script.
    local function ended(sid, uid, clients, now, until_ms, maxlen, reason, actor)
      redis.call('ZADD', key('rs'), until_ms, sid)
      trim(key('rs'), now)
      event(maxlen, 'session_ended', uid, sid, table.concat(clients, ' '), actor, reason)
      enqueue_logout(sid, uid, clients, now)
    end
    -- Ends one session: deletes it, records it as ended until its last access token has
    -- expired, logs the event and queues its back-channel logouts. Returns 1 if the session
    -- was live. A session that already timed out is left to the sweeper (sweepExpired),
    -- which notifies its clients.
    local function end_session(sid, uid, now, until_ms, maxlen, reason, actor)
      local skey = key('s:' .. sid)
      local clients = grants(skey)
      local existed = redis.call('DEL', skey)
      redis.call('ZREM', key('us:' .. uid), sid)
      if existed == 1 then
        untrack(sid)
        ended(sid, uid, clients, now, until_ms, maxlen, reason, actor)
      end
      return existed
    end
    -- Revokes one client's grant in a session: its refresh token goes, access tokens issued
    -- under it up to `revoked_at` (s) are void; the session ends with its last grant.
    -- Returns 1 if the session ended.
    local function revoke_grant(skey, sid, uid, client, now, until_ms, revoked_at, maxlen, actor, detail)
      redis.call('HDEL', skey, 'g:' .. client, 'r:' .. client, 'p:' .. client, 't:' .. client,
        'x:' .. client, 'sc:' .. client)
      redis.call('HSET', skey, 'w:' .. client, revoked_at)
      redis.call('ZADD', key('rg'), until_ms, sid .. ' ' .. client .. ' ' .. revoked_at)
      trim(key('rg'), now)
      event(maxlen, 'grant_revoked', uid, sid, client, actor, detail)
      if #grants(skey) == 0 then
        end_session(sid, uid, now, until_ms, maxlen, 'last_grant_revoked', actor)
        return 1
      end
      -- The session lives on with fewer clients: its expiry record must list only those left.
      track(sid)
      return 0
    end
    -- The user's live sessions; index entries of sessions that expired are dropped.
    -- Every entry's session must have been declared (checked before anything is written).
    local function live_sessions(uid)
      local index = key('us:' .. uid)
      local live = {}
      local entries = redis.call('ZRANGE', index, 0, -1)
      for _, sid in ipairs(entries) do require_declared('s:' .. sid); require_declared('bl:' .. sid) end
      for _, sid in ipairs(entries) do
        if redis.call('EXISTS', key('s:' .. sid)) == 1 then
          live[#live + 1] = sid
        else
          redis.call('ZREM', index, sid)
        end
      end
      return live
    end
    -- Writes kid, record, public record triples from ARGV[first] on into the keys hash and the
    -- public keys hash, then drops public records whose key is gone, so validators (which may
    -- read only the public hash) see exactly the stored keys.
    local function write_signing_keys(keys, public, first)
      for i = first, #ARGV, 3 do
        redis.call('HSET', keys, ARGV[i], ARGV[i + 1])
        redis.call('HSET', public, ARGV[i], ARGV[i + 2])
      end
      for _, kid in ipairs(redis.call('HKEYS', public)) do
        if redis.call('HEXISTS', keys, kid) == 0 then redis.call('HDEL', public, kid) end
      end
    end
    -- Under policy off no login needs the user's live sessions, and checking each one made a
    -- login cost O(sessions) in Redis. Instead the index sheds entries past their absolute
    -- expiry, and checks the eight entries the caller drew at random (ZRANDMEMBER) and declared,
    -- dropping those whose session hash is gone (idle expiry): each login adds one entry and
    -- removes dead ones in proportion to how many there are, so the index stays near the live
    -- sessions at O(log n) a login.
    local function prune_sessions(uid, now, except)
      local index = key('us:' .. uid)
      redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
      for _, sid in ipairs(declared_sessions(except)) do
        if redis.call('EXISTS', key('s:' .. sid)) == 0 then redis.call('ZREM', index, sid) end
      end
    end
    """#

    static func script(_ body: String) -> RedisScript { RedisScript(prelude + "\n" + body) }

    /// Creates a user. KEYS: user. ARGV: prefix, maxlen, uid, username, name, email, phc,
    /// created (s), actor, email verified (`1` or `0`). Returns 1, or 0 if the id is taken.
    static let createUser = script(#"""
    if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
    redis.call('HSET', KEYS[1], 'n', ARGV[4], 'name', ARGV[5], 'email', ARGV[6], 'phc', ARGV[7],
      'dis', '0', 'nbf', '0', 'ct', ARGV[8], 'ev', ARGV[10])
    event(ARGV[2], 'user_created', ARGV[3], '', '', ARGV[9], ARGV[4])
    return 1
    """#)

    /// Starts a session after the password was verified, enforcing the single-login policy.
    /// KEYS: user, user's sessions, new session, the shard's keys, then under policy `off` the
    /// sessions of eight entries of the user's index drawn at random (to prune), otherwise
    /// every entry's session and logout status (to check or end). ARGV: prefix, maxlen, uid,
    /// sid, client, grant id, verifier, scope, now, absolute expiry, idle (ms), default policy,
    /// until (the end of revocation records), actor, ip, user agent (at most 64 bytes, so the session
    /// hash stays a listpack; empty: not stored), hub cookie verifier (empty: none), the
    /// authentication methods (`amr`, space-separated; empty: a password). An empty
    /// client starts a browser session at the hub with no grant yet (clients join it later).
    /// Returns {'ok', nbf, ended sids...}, {'session_exists'}, {'disabled'} or {'no_user'}.
    static let startSession = script(#"""
    local uid, sid, client = ARGV[3], ARGV[4], ARGV[5]
    local now, abs, idle = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
    local user = redis.call('HMGET', KEYS[1], 'n', 'dis', 'pol', 'nbf')
    if not user[1] then return {'no_user'} end
    if user[2] == '1' then return {'disabled'} end
    local policy = user[3]
    if not policy or policy == '' then policy = ARGV[12] end
    local live = {}
    if policy == 'off' then prune_sessions(uid, now, KEYS[3]) else live = live_sessions(uid) end
    if policy == 'deny-new' and #live > 0 then
      event(ARGV[2], 'login_refused', uid, '', client, ARGV[14], 'session_exists')
      return {'session_exists'}
    end
    local reply = {'ok', user[4] or '0'}
    if policy == 'newest-wins' then
      for _, other in ipairs(live) do
        end_session(other, uid, now, ARGV[13], ARGV[2], 'single_login', ARGV[14])
        reply[#reply + 1] = other
      end
    end
    redis.call('HSET', KEYS[3], 'u', uid, 'at', math.floor(now / 1000), 'seen', now, 'abs', abs,
      'idle', idle, 'ip', ARGV[15])
    if client ~= '' then
      redis.call('HSET', KEYS[3], 'g:' .. client, ARGV[6], 'r:' .. client, ARGV[7], 'sc:' .. client, ARGV[8])
    end
    if ARGV[16] and ARGV[16] ~= '' then redis.call('HSET', KEYS[3], 'ua', ARGV[16]) end
    if ARGV[17] and ARGV[17] ~= '' then redis.call('HSET', KEYS[3], 'hc', ARGV[17]) end
    if ARGV[18] and ARGV[18] ~= '' then redis.call('HSET', KEYS[3], 'amr', ARGV[18]) end
    -- Tracked before its expiry is set: an expiry already past (a script run more than the
    -- idle timeout after the hub read its clock) deletes the hash at once, and a session that
    -- was never tracked would never be swept, ended or announced to its apps.
    track(sid)
    redis.call('PEXPIREAT', KEYS[3], math.min(abs, now + idle))
    redis.call('ZADD', KEYS[2], abs, sid)
    redis.call('PEXPIREAT', KEYS[2], abs, 'GT')
    if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIREAT', KEYS[2], abs) end
    event(ARGV[2], 'login', uid, sid, client, ARGV[14], ARGV[15])
    return reply
    """#)

    /// Re-authenticates a live browser session in place (the login form again, for
    /// `prompt=login` or `max_age`, by the user the session belongs to): a new auth time and a
    /// new cookie verifier, the same session. Single-login policies do not apply, since no
    /// session starts or ends. KEYS: ``StoreSchema/sessionKeys(_:userID:prefix:)`` with the
    /// user. ARGV: prefix, maxlen, uid, presented cookie verifier, new cookie verifier, now,
    /// actor, ip, authentication methods (`amr`; a step up to a second factor is a
    /// re-authentication too). Returns {'ok', auth time (s)}, {'gone'}
    /// when the cookie names no live session of this user, or {'disabled'}.
    static let reauthenticate = script(#"""
    local uid, now = ARGV[3], tonumber(ARGV[6])
    local s = redis.call('HMGET', KEYS[1], 'u', 'hc', 'abs', 'idle')
    if not s[1] or s[1] ~= uid or s[2] ~= ARGV[4] then return {'gone'} end
    local dis = redis.call('HGET', key('u:' .. uid), 'dis')
    if not dis then return {'gone'} end
    if dis == '1' then return {'disabled'} end
    local sid = string.sub(KEYS[1], #prefix + 3)
    local at = math.floor(now / 1000)
    redis.call('HSET', KEYS[1], 'at', at, 'seen', now, 'hc', ARGV[5], 'ip', ARGV[8], 'amr', ARGV[9])
    local deadline = math.min(tonumber(s[3]), now + tonumber(s[4]))
    retrack(sid, deadline)
    redis.call('PEXPIREAT', KEYS[1], deadline)
    event(ARGV[2], 'login', uid, sid, '', ARGV[7], 'reauthenticated')
    return {'ok', at}
    """#)

    /// Rotates a refresh token. KEYS: ``StoreSchema/sessionKeys(_:userID:prefix:)``. ARGV:
    /// prefix, maxlen, client, grant id, presented verifier, successor verifier, sealed
    /// successor, now, grace (ms), until, actor, the presented token's random part and lineage
    /// tag (hex; both empty for a token without one).
    /// A token neither current nor just rotated is a replay, and ends the session, unless its
    /// lineage tag names the current token as its predecessor: then it is the successor of a
    /// rotation this store lost (a crash or failover took the write), refused as invalid while
    /// the session and its current token live on.
    /// Returns {'rotated', uid, auth_time, scope, nbf, amr, username}, {'replayed', uid,
    /// auth_time, scope, nbf, sealed, amr, username}, {'reuse', uid} or {'invalid'}.
    static let rotateRefreshToken = script(#"""
    local client = ARGV[3]
    local now, grace = tonumber(ARGV[8]), tonumber(ARGV[9])
    local s = redis.call('HMGET', KEYS[1], 'u', 'g:' .. client, 'r:' .. client, 'p:' .. client,
      't:' .. client, 'x:' .. client, 'abs', 'idle', 'at', 'sc:' .. client, 'amr')
    if not s[1] or s[2] ~= ARGV[4] then return {'invalid'} end
    local uid = s[1]
    require_declared('us:' .. uid)
    local sid = string.sub(KEYS[1], #prefix + 3)
    local user = redis.call('HMGET', key('u:' .. uid), 'n', 'dis', 'nbf')
    if not user[1] or user[2] == '1' then
      end_session(sid, uid, now, ARGV[10], ARGV[2], 'user_disabled', ARGV[11])
      return {'invalid'}
    end
    if ARGV[5] == s[3] then
      redis.call('HSET', KEYS[1], 'p:' .. client, s[3], 't:' .. client, now, 'x:' .. client, ARGV[7],
        'r:' .. client, ARGV[6], 'seen', now)
      local deadline = math.min(tonumber(s[7]), now + tonumber(s[8]))
      retrack(sid, deadline)
      redis.call('PEXPIREAT', KEYS[1], deadline)
      event(ARGV[2], 'refresh', uid, sid, client, ARGV[11], '')
      return {'rotated', uid, s[9], s[10], user[3] or '0', s[11] or '', user[1]}
    end
    if ARGV[5] == s[4] and now - tonumber(s[5]) <= grace then
      return {'replayed', uid, s[9], s[10], user[3] or '0', s[6], s[11] or '', user[1]}
    end
    if ARGV[12] ~= '' and s[3] and string.sub(redis.sha1hex(s[3] .. ARGV[12]), 1, 32) == ARGV[13] then
      event(ARGV[2], 'refresh_rotation_lost', uid, sid, client, ARGV[11], '')
      return {'invalid'}
    end
    event(ARGV[2], 'refresh_reuse_detected', uid, sid, client, ARGV[11], '')
    end_session(sid, uid, now, ARGV[10], ARGV[2], 'refresh_reuse', ARGV[11])
    return {'reuse', uid}
    """#)

    /// Writes nothing. Run durably (``HallpassStore/confirmSessionEnd(_:)``), the fence and
    /// `WAIT` that follow it confirm what the master already holds for KEYS[1]'s hash slot.
    static let confirm = script(#"""
    return 1
    """#)

    /// Ends one session. KEYS: ``StoreSchema/sessionKeys(_:userID:prefix:)``. ARGV: prefix,
    /// maxlen, now, until, reason, actor. Returns {1, uid} if it was live, {0} otherwise.
    static let endSession = script(#"""
    local uid = redis.call('HGET', KEYS[1], 'u')
    if not uid then return {0} end
    require_declared('us:' .. uid)
    local sid = string.sub(KEYS[1], #prefix + 3)
    end_session(sid, uid, tonumber(ARGV[3]), ARGV[4], ARGV[2], ARGV[5], ARGV[6])
    return {1, uid}
    """#)

    /// Ends every session of a user; optionally disables the user, and optionally raises the
    /// user's "not before" watermark so every token issued until now is void.
    /// KEYS: user, user's sessions, the shard's watermarks, the shard's keys, then each session
    /// of the user and its logout status. ARGV: prefix, maxlen, uid, now, until, reason, actor,
    /// watermark (s, or 0 for none), disable ('1', '0' to enable, '' to leave), trim (s).
    /// Returns {number of sessions ended, their ids...}, or {-1} if the user does not exist.
    static let endUserSessions = script(#"""
    local uid, now = ARGV[3], tonumber(ARGV[4])
    if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
    local sessions = redis.call('ZRANGE', KEYS[2], 0, -1)
    if ARGV[9] ~= '0' then
      for _, sid in ipairs(sessions) do require_declared('s:' .. sid); require_declared('bl:' .. sid) end
    end
    if ARGV[9] ~= '' then
      redis.call('HSET', KEYS[1], 'dis', ARGV[9])
      event(ARGV[2], ARGV[9] == '1' and 'user_disabled' or 'user_enabled', uid, '', '', ARGV[7], '')
    end
    local out = {0}
    if ARGV[9] ~= '0' then
      for _, sid in ipairs(sessions) do
        if end_session(sid, uid, now, ARGV[5], ARGV[2], ARGV[6], ARGV[7]) == 1 then
          out[1] = out[1] + 1
          out[#out + 1] = sid
        end
      end
      redis.call('DEL', KEYS[2])
    end
    if ARGV[8] ~= '0' then
      redis.call('HSET', KEYS[1], 'nbf', ARGV[8])
      redis.call('ZADD', key('nbf'), ARGV[8], uid)
      redis.call('ZREMRANGEBYSCORE', key('nbf'), '-inf', '(' .. ARGV[10])
      event(ARGV[2], 'user_tokens_revoked', uid, '', '', ARGV[7], ARGV[8])
    end
    return out
    """#)

    /// Revokes one client's grant in a session (RFC 7009 with a refresh token); the session
    /// ends with its last grant. KEYS: ``StoreSchema/sessionKeys(_:userID:prefix:)``. ARGV:
    /// prefix, maxlen, client, grant id, presented verifier, now, until, revoked at (s), actor.
    /// Returns {1, uid, session ended 0/1} or {0} when the token names no live grant.
    static let revokeGrant = script(#"""
    local client = ARGV[3]
    local s = redis.call('HMGET', KEYS[1], 'u', 'g:' .. client, 'r:' .. client, 'p:' .. client)
    if not s[1] or s[2] ~= ARGV[4] then return {0} end
    if ARGV[5] ~= s[3] and ARGV[5] ~= s[4] then return {0} end
    local uid, now = s[1], tonumber(ARGV[6])
    require_declared('us:' .. uid)
    local sid = string.sub(KEYS[1], #prefix + 3)
    local ended = revoke_grant(KEYS[1], sid, uid, client, now, ARGV[7], ARGV[8], ARGV[2], ARGV[9], ARGV[8])
    return {1, uid, ended}
    """#)

    /// Sets fields of a user and logs why. KEYS: user. ARGV: prefix, maxlen, uid, event type,
    /// actor, detail, then field/value pairs. Returns 0 if the user does not exist.
    static let updateUser = script(#"""
    if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
    if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
    event(ARGV[2], ARGV[4], ARGV[3], '', '', ARGV[5], ARGV[6])
    return 1
    """#)

    /// Writes a global record and logs it. KEYS: the record (hash). ARGV: prefix, maxlen, event
    /// type, actor, detail, mode ('set', 'setnx-any' = only if the hash is empty, 'replace',
    /// 'delete'), then field/value pairs. Returns 1 if written.
    static let writeGlobal = script(#"""
    local mode = ARGV[6]
    if mode == 'setnx-any' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
    if mode == 'delete' then
      if redis.call('DEL', KEYS[1]) == 0 then return 0 end
    else
      if mode == 'replace' then redis.call('DEL', KEYS[1]) end
      redis.call('HSET', KEYS[1], unpack(ARGV, 7))
    end
    event(ARGV[2], ARGV[3], '', '', '', ARGV[4], ARGV[5])
    return 1
    """#)

    /// Registers a client. KEYS: client, client ids, client watermarks. ARGV: prefix, maxlen,
    /// client id, actor, then field/value pairs. A watermark left by an earlier client of the
    /// same id is copied into the record (field `nbf`), so hubs issue the new client's tokens
    /// after it without another read. Returns {1, watermark or 0}, or {0} if the id is taken.
    static let createClient = script(#"""
    if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
    redis.call('HSET', KEYS[1], unpack(ARGV, 5))
    local nbf = redis.call('ZSCORE', KEYS[3], ARGV[3])
    if nbf then redis.call('HSET', KEYS[1], 'nbf', nbf) end
    redis.call('SADD', KEYS[2], ARGV[3])
    event(ARGV[2], 'client_added', '', '', '', ARGV[4], ARGV[3])
    return {1, nbf or '0'}
    """#)

    /// Removes a client and voids every token issued to it so far: raises its watermark (never
    /// lowers it) and logs `client_tokens_revoked` beside `client_removed`, which validators
    /// apply. KEYS: client, client ids, client watermarks. ARGV: prefix, maxlen, client id,
    /// watermark (s), trim (s: watermarks below it have outlived every token they void), actor.
    /// Returns the watermark now in force, or 0 if there was no such client.
    static let removeClient = script(#"""
    local existed = redis.call('DEL', KEYS[1])
    redis.call('SREM', KEYS[2], ARGV[3])
    if existed == 0 then return 0 end
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[5])
    redis.call('ZADD', KEYS[3], 'GT', ARGV[4], ARGV[3])
    local watermark = redis.call('ZSCORE', KEYS[3], ARGV[3])
    event(ARGV[2], 'client_removed', '', '', '', ARGV[6], ARGV[3])
    event(ARGV[2], 'client_tokens_revoked', '', '', ARGV[3], ARGV[6], watermark)
    return tonumber(watermark)
    """#)

    /// Revokes one access token by `jti`. KEYS: revoked ids. ARGV: prefix, maxlen, jti, until,
    /// now, actor, user, sid, client. Returns 1 if newly revoked, 0 if it already was.
    ///
    /// Lapsed records are trimmed first, so a `jti` whose record lapsed counts as new. A record
    /// is only ever extended (`GT`): revoking again with an earlier expiry must not shorten it.
    /// `ZADD`'s own count cannot tell "new" from "extended" (`CH` counts both), hence `ZSCORE`.
    static let revokeTokenID = script(#"""
    local now = tonumber(ARGV[5])
    trim(KEYS[1], now)
    local known = redis.call('ZSCORE', KEYS[1], ARGV[3])
    -- A token already past its expiry needs no record.
    if tonumber(ARGV[4]) >= now then redis.call('ZADD', KEYS[1], 'GT', ARGV[4], ARGV[3]) end
    event(ARGV[2], 'token_revoked', ARGV[7], ARGV[8], ARGV[9], ARGV[6], ARGV[3])
    if known then return 0 end
    return 1
    """#)

    /// Reserves a login attempt against the throttles, or reports the lockout.
    /// KEYS: per-username counter, per-ip counter. ARGV: prefix, user limit, ip limit, window (ms).
    /// Returns {0, retry after ms} when locked, {1, 0} when the attempt is reserved; a reserved
    /// attempt counts as a failure until ``releaseLoginAttempt`` takes it back.
    static let reserveLoginAttempt = script(#"""
    for i, limit in ipairs({tonumber(ARGV[2]), tonumber(ARGV[3])}) do
      local count = tonumber(redis.call('GET', KEYS[i]) or '0')
      if count >= limit then
        local ttl = redis.call('PTTL', KEYS[i])
        if ttl < 0 then ttl = tonumber(ARGV[4]); redis.call('PEXPIRE', KEYS[i], ttl) end
        return {0, ttl}
      end
    end
    for i = 1, 2 do
      if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
    end
    return {1, 0}
    """#)

    /// Takes back a reserved attempt that turned out not to be a failed password: the
    /// username's counter resets, the address's goes down by one. KEYS: as above.
    static let releaseLoginAttempt = script(#"""
    redis.call('DEL', KEYS[1])
    if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
    return 1
    """#)

    /// Logs an event without other changes (a failed login). ARGV: prefix, maxlen, type, user,
    /// sid, client, actor, detail. KEYS: the stream.
    static let appendEvent = script(#"""
    event(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
    return 1
    """#)

    /// Changes the signing keys if they are still exactly as the caller read them (two
    /// rotations at once must not both retire the same key with different schedules).
    /// KEYS: signing keys, public keys. ARGV: prefix, maxlen, event type (empty: no event),
    /// actor, detail, the number of records read, then that many (kid, record) pairs, then the
    /// number of kids to delete and the kids, then (kid, record, public record) triples to
    /// write. Returns 1, or 0 if the keys changed since they were read (nothing is written).
    static let updateSigningKeys = script(#"""
    local i = 6
    local expected = tonumber(ARGV[i]); i = i + 1
    if redis.call('HLEN', KEYS[1]) ~= expected then return 0 end
    for _ = 1, expected do
      if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 0 end
      i = i + 2
    end
    local deletes = tonumber(ARGV[i]); i = i + 1
    for _ = 1, deletes do
      redis.call('HDEL', KEYS[1], ARGV[i]); i = i + 1
    end
    write_signing_keys(KEYS[1], KEYS[2], i)
    if ARGV[3] ~= '' then event(ARGV[2], ARGV[3], '', '', '', ARGV[4], ARGV[5]) end
    return 1
    """#)

    /// Stores signing keys. KEYS: keys, public keys. ARGV: prefix, maxlen, event, actor,
    /// detail, mode (`first`: only if no key exists yet; `set`), then kid, record, public
    /// record for each key. Returns 1, or 0 if `first` found a key.
    static let writeSigningKeys = script(#"""
    if ARGV[6] == 'first' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
    write_signing_keys(KEYS[1], KEYS[2], 7)
    event(ARGV[2], ARGV[3], '', '', '', ARGV[4], ARGV[5])
    return 1
    """#)

    /// Stores an authorization code if its session is still live. KEYS: code, session.
    /// ARGV: prefix, ttl (ms), then field/value pairs. Returns 1, or 0 if the session ended.
    static let storeAuthorizationCode = script(#"""
    if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
    redis.call('HSET', KEYS[1], unpack(ARGV, 3))
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
    """#)

    /// Redeems an authorization code, once. KEYS: code, then
    /// ``StoreSchema/sessionKeys(_:userID:prefix:)``. ARGV: prefix, maxlen, now,
    /// until, revoked at (s), actor.
    ///
    /// The first use marks the code used (it stays until its expiry, to recognize a replay)
    /// and returns {'ok', client, redirect uri, challenge, nonce, scope, auth_time, amr}. A later
    /// use marks it replayed and revokes the grant the first use created, if that grant is
    /// still the client's grant in the session: {'replayed'}. An unknown or expired code:
    /// {'invalid'}.
    static let consumeAuthorizationCode = script(#"""
    local c = redis.call('HMGET', KEYS[1], 'c', 'r', 'pc', 'n', 'sc', 'at', 'used', 'grant', 'am')
    if not c[1] then return {'invalid'} end
    if c[7] then
      local sid = string.sub(KEYS[2], #prefix + 3)
      local s = redis.call('HMGET', KEYS[2], 'u', 'g:' .. c[1])
      if s[1] then require_declared('us:' .. s[1]) end
      redis.call('HSET', KEYS[1], 'replayed', '1')
      event(ARGV[2], 'code_replayed', s[1] or '', sid, c[1], ARGV[6], '')
      if c[8] and s[1] and s[2] == c[8] then
        revoke_grant(KEYS[2], sid, s[1], c[1], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[2], ARGV[6], 'code_replay')
      end
      return {'replayed'}
    end
    redis.call('HSET', KEYS[1], 'used', '1')
    return {'ok', c[1], c[2], c[3] or '', c[4] or '', c[5], c[6], c[9] or ''}
    """#)

    /// Adds a client's grant to a live session (single sign-on: a second app joins the
    /// browser's session). KEYS: ``StoreSchema/sessionKeys(_:userID:prefix:)``, then the
    /// redeemed code if any. ARGV: prefix, maxlen, client, grant id, verifier, scope, now,
    /// until, actor, the redeemed code's digest (empty: none). A grant the client already held in the session is
    /// replaced. Returns {'ok', uid, auth_time, nbf, amr, username}, {'ended'}, {'disabled'} or {'replayed'}
    /// (the code was replayed before its first use finished).
    static let joinSession = script(#"""
    local client, now = ARGV[3], tonumber(ARGV[7])
    local s = redis.call('HMGET', KEYS[1], 'u', 'abs', 'idle', 'at', 'amr')
    if not s[1] then return {'ended'} end
    local uid = s[1]
    require_declared('us:' .. uid)
    local sid = string.sub(KEYS[1], #prefix + 3)
    local user = redis.call('HMGET', key('u:' .. uid), 'n', 'dis', 'nbf')
    if not user[1] or user[2] == '1' then
      end_session(sid, uid, now, ARGV[8], ARGV[2], 'user_disabled', ARGV[9])
      return {'disabled'}
    end
    if ARGV[10] ~= '' then
      local code = key('ac:' .. ARGV[10])
      local c = redis.call('HMGET', code, 'replayed', 'grant')
      if c[1] or c[2] then return {'replayed'} end
      redis.call('HSET', code, 'grant', ARGV[4])
    end
    redis.call('HDEL', KEYS[1], 'p:' .. client, 't:' .. client, 'x:' .. client)
    redis.call('HSET', KEYS[1], 'g:' .. client, ARGV[4], 'r:' .. client, ARGV[5], 'sc:' .. client, ARGV[6],
      'seen', now)
    track(sid)
    redis.call('PEXPIREAT', KEYS[1], math.min(tonumber(s[2]), now + tonumber(s[3])))
    event(ARGV[2], 'session_joined', uid, sid, client, ARGV[9], '')
    return {'ok', uid, s[4], user[3] or '0', s[5] or '', user[1]}
    """#)

    // MARK: Device authorization grant (RFC 8628)
    //
    // A device authorization is created before any user is known, so its records live under
    // the global tag: `dc:<digest>` (the record) and `uc:<digest>` (its user code). Approval
    // writes the session id into the record; the exchange consumes the record here first and
    // only then joins the session in the user's shard, with `joinSession`, in a second script.

    /// Creates a device authorization, unless its user code is taken by a live one.
    /// KEYS: device record, user code. ARGV: prefix, maxlen, user code lifetime (ms), record
    /// lifetime (ms), device record digest, client, actor, then the record's field/value pairs.
    /// Returns 1, or 0 if the user code is in use (nothing is written).
    static let startDeviceAuthorization = script(#"""
    if not redis.call('SET', KEYS[2], ARGV[5], 'NX', 'PX', ARGV[3]) then return 0 end
    redis.call('HSET', KEYS[1], unpack(ARGV, 8))
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
    event(ARGV[2], 'device_authorization_started', '', '', ARGV[6], ARGV[7], '')
    return 1
    """#)

    /// What a user code names, for the verification page. KEYS: user code, the device record
    /// it named when read. ARGV: prefix, now.
    /// Returns {client, scope, expiry (ms)}, or {} when the code names no pending, unexpired
    /// authorization.
    static let readDeviceAuthorization = script(#"""
    local digest = redis.call('GET', KEYS[1])
    if not digest then return {} end
    require_declared('dc:' .. digest)
    local d = redis.call('HMGET', key('dc:' .. digest), 'c', 'sc', 'exp', 'st')
    if not d[1] or d[4] ~= 'pending' or tonumber(d[3]) <= tonumber(ARGV[2]) then return {} end
    return {d[1], d[2], d[3]}
    """#)

    /// Records the user's decision on a pending device authorization and retires its user
    /// code (single use). KEYS: user code, the device record it named when read, the global
    /// event stream. ARGV: prefix, maxlen, decision ('approved' or
    /// 'denied'), sid, uid, auth time (s), now, actor. Returns {'ok', client} or {'gone'}
    /// (unknown, expired or already decided).
    static let decideDeviceAuthorization = script(#"""
    local digest = redis.call('GET', KEYS[1])
    if not digest then return {'gone'} end
    require_declared('dc:' .. digest)
    local dkey = key('dc:' .. digest)
    local d = redis.call('HMGET', dkey, 'c', 'st', 'exp')
    redis.call('DEL', KEYS[1])
    if not d[1] or d[2] ~= 'pending' or tonumber(d[3]) <= tonumber(ARGV[7]) then return {'gone'} end
    if ARGV[3] == 'approved' then
      redis.call('HSET', dkey, 'st', 'approved', 's', ARGV[4], 'u', ARGV[5], 'at', ARGV[6])
    else
      redis.call('HSET', dkey, 'st', 'denied')
    end
    event(ARGV[2], 'device_' .. ARGV[3], ARGV[5], ARGV[4], d[1], ARGV[8], '')
    return {'ok', d[1]}
    """#)

    /// One poll of the token endpoint with a device code (RFC 8628 section 3.5). KEYS: device
    /// record. ARGV: prefix, maxlen, client, now, slow-down increment (s), tolerance (ms),
    /// actor. An approved record is consumed here (single use): the caller then joins the
    /// session. Returns {'approved', sid, uid, scope, auth time}, {'pending'},
    /// {'slow_down', new interval}, {'denied'}, {'expired'}, {'used', sid, grant id ('' when
    /// not bound yet)} or {'invalid'} (unknown, or issued to another client).
    static let pollDeviceAuthorization = script(#"""
    local d = redis.call('HMGET', KEYS[1], 'c', 'st', 'exp', 'i', 'lp', 's', 'u', 'sc', 'at', 'g')
    if not d[1] or d[1] ~= ARGV[3] then return {'invalid'} end
    local now = tonumber(ARGV[4])
    if d[2] == 'used' then
      event(ARGV[2], 'device_code_replayed', d[7] or '', d[6] or '', d[1], ARGV[7], '')
      return {'used', d[6] or '', d[10] or ''}
    end
    if tonumber(d[3]) <= now then return {'expired'} end
    if d[2] == 'denied' then return {'denied'} end
    if d[2] == 'approved' then
      redis.call('HSET', KEYS[1], 'st', 'used')
      return {'approved', d[6], d[7], d[8], d[9]}
    end
    local interval = tonumber(d[4])
    -- The first poll may come at any time; after it, each must wait the interval, which every
    -- poll that comes too soon lengthens for all later ones.
    if d[5] and now - tonumber(d[5]) < interval * 1000 - tonumber(ARGV[6]) then
      interval = interval + tonumber(ARGV[5])
      redis.call('HSET', KEYS[1], 'i', interval, 'lp', now)
      return {'slow_down', interval}
    end
    redis.call('HSET', KEYS[1], 'lp', now)
    return {'pending'}
    """#)

    /// Records which grant an exchanged device code created, so a replay can revoke it.
    /// KEYS: device record. ARGV: prefix, grant id. Returns 1, or 0 if the record is gone.
    static let bindDeviceGrant = script(#"""
    if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
    redis.call('HSET', KEYS[1], 'g', ARGV[2])
    return 1
    """#)

    /// Revokes the grant a replayed device code created, if it is still the client's grant in
    /// the session (RFC 6749 section 4.1.2's rule for codes, applied to device codes).
    /// KEYS: ``StoreSchema/sessionKeys(_:userID:prefix:)``. ARGV: prefix, maxlen, client,
    /// grant id, now, until, revoked at (s), actor. Returns 1 if a grant was revoked.
    static let revokeReplayedDeviceGrant = script(#"""
    local s = redis.call('HMGET', KEYS[1], 'u', 'g:' .. ARGV[3])
    if not s[1] or s[2] ~= ARGV[4] then return 0 end
    require_declared('us:' .. s[1])
    local sid = string.sub(KEYS[1], #prefix + 3)
    revoke_grant(KEYS[1], sid, s[1], ARGV[3], tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[2], ARGV[8], 'device_code_replay')
    return 1
    """#)

    /// Reserves one attempt against a single throttle counter, or reports the lockout.
    /// KEYS: counter. ARGV: prefix, limit, window (ms). Returns {0, retry after ms} when
    /// locked, {1, 0} when reserved; a reserved attempt counts as a failure until
    /// ``releaseAttempt`` takes it back.
    static let reserveAttempt = script(#"""
    local count = tonumber(redis.call('GET', KEYS[1]) or '0')
    if count >= tonumber(ARGV[2]) then
      local ttl = redis.call('PTTL', KEYS[1])
      if ttl < 0 then ttl = tonumber(ARGV[3]); redis.call('PEXPIRE', KEYS[1], ttl) end
      return {0, ttl}
    end
    if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
    return {1, 0}
    """#)

    /// Takes back one reserved attempt that was not a failure. KEYS: counter. ARGV: prefix.
    static let releaseAttempt = script(#"""
    if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
    return 1
    """#)

    /// Ends the sessions whose idle or absolute timeout has passed, as any other end of a
    /// session: revocation record, `session_ended` event (reason `idle_timeout` or
    /// `absolute_timeout`, actor `hub`) and back-channel logouts. KEYS: the shard's deadlines,
    /// the shard's session facts, the shard's ended sessions, events and logout queue, then for
    /// each session the caller found due: the session, its logout status and its user's
    /// sessions. ARGV: prefix, maxlen, now, until, limit. A due session the caller did not
    /// declare (it fell due since) is left for the next sweep.
    /// Returns the number of sessions ended.
    static let sweepExpired = script(#"""
    local now = tonumber(ARGV[3])
    local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[5]))
    local count = 0
    for i = 1, #due, 2 do
      local sid, deadline = due[i], tonumber(due[i + 1])
      local meta = redis.call('HGET', KEYS[2], sid)
      local uid = meta and string.match(meta, '^%S+')
      local ttl
      if declared[prefix .. 's:' .. sid] and declared[prefix .. 'bl:' .. sid]
        and (not uid or declared[prefix .. 'us:' .. uid]) then
        ttl = redis.call('PTTL', key('s:' .. sid))
      end
      if not ttl then
        -- Found due by this script but not by the caller: the next sweep takes it.
      elseif ttl >= 0 then
        -- Still live by Redis's clock: look again when Redis expires it. PTTL is 0 in the
        -- millisecond the key expires (Redis expires a key only once its time is past); taking
        -- that as "gone" would drop the session from the sweep without ending it.
        redis.call('ZADD', KEYS[1], now + math.max(ttl, 1), sid)
      else
        redis.call('ZREM', KEYS[1], sid)
        redis.call('HDEL', KEYS[2], sid)
        if meta and ttl == -2 then
          local words = {}
          for w in string.gmatch(meta, '%S+') do words[#words + 1] = w end
          local uid, abs = words[1], tonumber(words[2])
          local clients = {}
          for j = 3, #words do clients[#clients + 1] = words[j] end
          local reason = 'idle_timeout'
          if deadline >= abs then reason = 'absolute_timeout' end
          redis.call('ZREM', key('us:' .. uid), sid)
          ended(sid, uid, clients, now, ARGV[4], ARGV[2], reason, 'hub')
          count = count + 1
        end
      end
    end
    return count
    """#)

    /// Claims the back-channel logout deliveries that are due: each claimed one is pushed
    /// `lease` ms into the future, so no other hub sends the same attempt, and its attempt
    /// counter goes up. KEYS: the shard's queue, then the logout status of each session the
    /// caller found due (one found only by this script is left for the next claim). ARGV:
    /// prefix, now, lease (ms), limit. Returns flat {sid, client, uid, ended at (ms), attempt}
    /// quintuples.
    static let claimLogoutDeliveries = script(#"""
    local now = tonumber(ARGV[2])
    local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
    local out = {}
    for _, member in ipairs(due) do
      local space = string.find(member, ' ', 1, true)
      local sid, client = '', ''
      if space then sid, client = string.sub(member, 1, space - 1), string.sub(member, space + 1) end
      local bl = prefix .. 'bl:' .. sid
      local info = {}
      if space and declared[bl] then info = redis.call('HMGET', bl, 'u', 't', 's:' .. client) end
      if space and not declared[bl] then
        -- Due since the caller looked: the next claim takes it.
      elseif not info[1] or info[3] ~= 'pending' then
        redis.call('ZREM', KEYS[1], member)
      else
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), member)
        local attempt = redis.call('HINCRBY', bl, 'n:' .. client, 1)
        out[#out + 1] = sid
        out[#out + 1] = client
        out[#out + 1] = info[1]
        out[#out + 1] = info[2]
        out[#out + 1] = attempt
      end
    end
    return out
    """#)

    /// Records the outcome of one delivery attempt. KEYS: the shard's queue, the session's
    /// delivery status. ARGV: prefix, sid, client, outcome ('delivered', 'failed', 'retry' or
    /// 'skipped': the client has no back-channel URI), next attempt (ms), last error, now.
    /// Returns 1, or 0 when the status record is gone.
    static let finishLogoutDelivery = script(#"""
    local member = ARGV[2] .. ' ' .. ARGV[3]
    local client, outcome = ARGV[3], ARGV[4]
    if redis.call('EXISTS', KEYS[2]) == 0 then
      redis.call('ZREM', KEYS[1], member)
      return 0
    end
    if outcome == 'retry' then
      redis.call('ZADD', KEYS[1], ARGV[5], member)
      redis.call('HSET', KEYS[2], 'e:' .. client, ARGV[6])
    elseif outcome == 'skipped' then
      redis.call('ZREM', KEYS[1], member)
      redis.call('HDEL', KEYS[2], 's:' .. client, 'n:' .. client, 'e:' .. client, 'd:' .. client)
    else
      redis.call('ZREM', KEYS[1], member)
      redis.call('HSET', KEYS[2], 's:' .. client, outcome, 'e:' .. client, ARGV[6], 'd:' .. client, ARGV[7])
    end
    return 1
    """#)

    // MARK: Second factor
    //
    // A user's TOTP secret (sealed) and its last accepted time step live in the user hash
    // (`tf`, `tfs`); the recovery codes' hashes in a set (`rc:<uid>`); a secret being set up,
    // until its first code confirms it, in `tfe:<uid>` with an expiry. All in the user's shard.

    /// Makes the pending secret the user's second factor, with new recovery codes.
    /// KEYS: user, pending enrollment, recovery codes. ARGV: prefix, maxlen, uid, actor, the
    /// sealed secret as set up (it must still be the pending one), the confirming code's time
    /// step, then the recovery code hashes. Returns 1, or 0 if the set-up expired or was
    /// replaced meanwhile (nothing changes).
    static let enrollSecondFactor = script(#"""
    if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('GET', KEYS[2]) ~= ARGV[5] then return 0 end
    redis.call('HSET', KEYS[1], 'tf', ARGV[5], 'tfs', ARGV[6])
    redis.call('DEL', KEYS[2], KEYS[3])
    if #ARGV > 6 then redis.call('SADD', KEYS[3], unpack(ARGV, 7)) end
    event(ARGV[2], 'mfa_enrolled', ARGV[3], '', '', ARGV[4], 'totp')
    return 1
    """#)

    /// Accepts a TOTP time step once (RFC 6238 section 5.2): only a step later than the last
    /// accepted one. KEYS: user. ARGV: prefix, sealed secret the code was checked against,
    /// step. Returns 'ok', 'replayed', or 'changed' when the second factor is no longer that
    /// secret (reset or replaced meanwhile).
    static let useTimeStep = script(#"""
    local f = redis.call('HMGET', KEYS[1], 'tf', 'tfs')
    if f[1] ~= ARGV[2] then return 'changed' end
    if f[2] and tonumber(f[2]) >= tonumber(ARGV[3]) then return 'replayed' end
    redis.call('HSET', KEYS[1], 'tfs', ARGV[3])
    return 'ok'
    """#)

    /// Uses up a recovery code. KEYS: recovery codes, user. ARGV: prefix, maxlen, uid, actor,
    /// code hash. Returns the number of codes left, or -1 if the hash is not one of them.
    static let useRecoveryCode = script(#"""
    if redis.call('HEXISTS', KEYS[2], 'tf') == 0 then return -1 end
    if redis.call('SREM', KEYS[1], ARGV[5]) == 0 then return -1 end
    local left = redis.call('SCARD', KEYS[1])
    event(ARGV[2], 'recovery_code_used', ARGV[3], '', '', ARGV[4], left .. ' left')
    return left
    """#)

    /// Replaces the recovery codes of a user who has a second factor. KEYS: user, recovery
    /// codes. ARGV: prefix, maxlen, uid, actor, then the hashes. Returns 1, or 0 without a
    /// second factor.
    static let replaceRecoveryCodes = script(#"""
    if redis.call('HEXISTS', KEYS[1], 'tf') == 0 then return 0 end
    redis.call('DEL', KEYS[2])
    redis.call('SADD', KEYS[2], unpack(ARGV, 5))
    event(ARGV[2], 'recovery_codes_regenerated', ARGV[3], '', '', ARGV[4], '')
    return 1
    """#)

    /// Removes a user's second factor, its recovery codes and any set-up in progress.
    /// KEYS: user, pending enrollment, recovery codes. ARGV: prefix, maxlen, uid, actor, event
    /// type (`mfa_disabled` by the user, `mfa_reset` by an administrator). Returns 1 if there
    /// was one, 0 if not (nothing logged), -1 if there is no such user.
    static let removeSecondFactor = script(#"""
    if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
    redis.call('DEL', KEYS[2])
    if redis.call('HDEL', KEYS[1], 'tf', 'tfs') == 0 then return 0 end
    redis.call('DEL', KEYS[3])
    event(ARGV[2], ARGV[5], ARGV[3], '', '', ARGV[4], 'totp')
    return 1
    """#)

    /// Records a sign-in waiting for its second factor. KEYS: the pending sign-in. ARGV:
    /// prefix, lifetime (ms), then field/value pairs.
    static let startPendingSignIn = script(#"""
    redis.call('HSET', KEYS[1], unpack(ARGV, 3))
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
    """#)
}
