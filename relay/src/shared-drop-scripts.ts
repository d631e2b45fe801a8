/**
 * The Lua scripts that change the shared drop index (shared-drops.ts). Redis runs a script whole, alone: each check
 * and the change it allows are one step for every instance, so two instances taking the last slot of a drop at once
 * give it to exactly one, and a drop claimed for deletion is claimed once.
 *
 * Keys (all under one hash tag, so a Redis Cluster keeps them in one slot): KEYS[1] the drop's record (its JSON,
 * drop-record.ts), then the sorted sets of expiry times, of incomplete uploads by last PATCH, of open leases
 * (`<id>:<lease hash>`) by last use, of drops claimed for deletion by claim time, and the usage hash: `count`
 * (records, tombstones included), `live` and `bytes` (drops whose bytes are not gone), `n:<address>` and
 * `b:<address>` (the same per address key). Redis's cjson writes an empty array as `{}`: the reader mends it.
 */

const PRELUDE = `
local R, EXP, IDLE, LEASES, DELETING, USAGE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local function load() local t = redis.call('GET', R) if not t then return nil end return cjson.decode(t) end
local function save(rec) redis.call('SET', R, cjson.encode(rec)) end
local function add(field, by)
  if redis.call('HINCRBY', USAGE, field, by) <= 0 then redis.call('HDEL', USAGE, field) end
end
local function count(rec, sign)
  add('live', sign) add('bytes', sign * rec.length)
  add('n:' .. rec.address, sign) add('b:' .. rec.address, sign * rec.length)
end
`;

function script(body: string): string {
  return `${PRELUDE}\n${body}`;
}

/** ARGV: record JSON, per-address drops, per-address bytes, total bytes, most records. → OK or the refusal. */
export const CREATE = script(`
if redis.call('EXISTS', R) == 1 then return 'DROP_EXISTS' end
local rec = cjson.decode(ARGV[1])
if redis.call('ZSCORE', DELETING, rec.id) then return 'DROP_EXISTS' end
local h = redis.call('HMGET', USAGE, 'n:' .. rec.address, 'b:' .. rec.address, 'bytes', 'count')
local mine, myBytes, bytes, records = tonumber(h[1] or 0), tonumber(h[2] or 0), tonumber(h[3] or 0), tonumber(h[4] or 0)
if mine >= tonumber(ARGV[2]) then return 'QUOTA_DROPS' end
if myBytes + rec.length > tonumber(ARGV[3]) then return 'QUOTA_BYTES' end
if bytes + rec.length > tonumber(ARGV[4]) or records >= tonumber(ARGV[5]) then return 'FULL' end
redis.call('SET', R, ARGV[1])
redis.call('ZADD', EXP, rec.expiresAt, rec.id)
redis.call('ZADD', IDLE, rec.uploadSeenAt, rec.id)
add('count', 1) count(rec, 1)
return 'OK'`);

/** ARGV: record JSON (read from the storage, written before --redis). → 1 when taken in, 0 when known already. */
export const IMPORT = script(`
if redis.call('EXISTS', R) == 1 then return 0 end
local rec = cjson.decode(ARGV[1])
redis.call('SET', R, ARGV[1])
redis.call('ZADD', EXP, rec.expiresAt, rec.id)
if not rec.complete then redis.call('ZADD', IDLE, rec.uploadSeenAt, rec.id) end
for _, l in ipairs(rec.leases) do redis.call('ZADD', LEASES, l.seenAt, rec.id .. ':' .. l.hash) end
add('count', 1)
if not rec.gone then count(rec, 1) end
return 1`);

/**
 * Claims a drop for deletion: its record and index entries go, its id waits in DELETING until the storage deleted
 * its bytes. ARGV: id, now, why (`expired`: only once expired; `idle`: only an upload idle for ARGV[4] ms; `any`).
 * → 1 for the one caller that must delete the bytes, else 0.
 */
export const CLAIM = script(`
local rec = load()
if not rec then redis.call('ZREM', EXP, ARGV[1]) redis.call('ZREM', IDLE, ARGV[1]) return 0 end
local now = tonumber(ARGV[2])
if ARGV[3] == 'expired' and now < rec.expiresAt then return 0 end
if ARGV[3] == 'idle' and (rec.complete or now - rec.uploadSeenAt < tonumber(ARGV[4])) then return 0 end
if not rec.gone then count(rec, -1) end
add('count', -1)
redis.call('DEL', R) redis.call('ZREM', EXP, rec.id) redis.call('ZREM', IDLE, rec.id)
for _, l in ipairs(rec.leases) do redis.call('ZREM', LEASES, rec.id .. ':' .. l.hash) end
redis.call('ZADD', DELETING, now, rec.id)
return 1`);

/** A deletion claimed long ago (its instance failed or died) is claimed again. ARGV: id, now, claimed before. */
export const RECLAIM = script(`
local at = redis.call('ZSCORE', DELETING, ARGV[1])
if not at or tonumber(at) > tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', DELETING, ARGV[2], ARGV[1])
return 1`);

/** A PATCH under way or ended. ARGV: now. */
export const TOUCH_UPLOAD = script(`
local rec = load()
if not rec or rec.complete then return 0 end
rec.uploadSeenAt = tonumber(ARGV[1]) save(rec)
redis.call('ZADD', IDLE, ARGV[1], rec.id)
return 1`);

/** The last byte arrived. ARGV: now. → 1 for the one caller that recorded it. */
export const COMPLETE = script(`
local rec = load()
if not rec or rec.complete then return 0 end
rec.complete = true rec.uploadSeenAt = tonumber(ARGV[1]) save(rec)
redis.call('ZREM', IDLE, rec.id)
return 1`);

/** ARGV: lease hash, now. → the slots left, or the refusal code. */
export const TAKE_SLOT = script(`
local rec = load() local now = tonumber(ARGV[2])
if not rec or now >= rec.expiresAt then return 'DROP_NOT_FOUND' end
if rec.gone or rec.used >= rec.downloads then return 'DROP_GONE' end
if not rec.complete then return 'DROP_INCOMPLETE' end
rec.used = rec.used + 1
local leases = {}
for _, l in ipairs(rec.leases) do table.insert(leases, l) end
table.insert(leases, { hash = ARGV[1], seenAt = now })
rec.leases = leases save(rec)
redis.call('ZADD', LEASES, now, rec.id .. ':' .. ARGV[1])
return tostring(rec.downloads - rec.used)`);

/** A request under a lease, or a response under it still being sent. ARGV: lease hash, now. → 1 if open. */
export const TOUCH_LEASE = script(`
local rec = load()
if not rec or rec.gone then return 0 end
for _, l in ipairs(rec.leases) do
  if l.hash == ARGV[1] then
    l.seenAt = tonumber(ARGV[2]) save(rec)
    redis.call('ZADD', LEASES, ARGV[2], rec.id .. ':' .. ARGV[1])
    return 1
  end
end
return 0`);

/**
 * Ends a lease: its last byte was sent (ARGV[3] = -1), or it was idle for ARGV[3] ms. ARGV: lease hash, now, idle,
 * drop id. → RETIRE when that used the drop up (its bytes go, by the one caller told so), ENDED, or NONE.
 */
export const END_LEASE = script(`
local rec = load()
local member = ARGV[4] .. ':' .. ARGV[1]
if not rec then redis.call('ZREM', LEASES, member) return 'NONE' end
local now, idle = tonumber(ARGV[2]), tonumber(ARGV[3])
local kept, found, known = {}, false, false
for _, l in ipairs(rec.leases) do
  if l.hash == ARGV[1] then known = true end
  if l.hash == ARGV[1] and (idle < 0 or now - l.seenAt >= idle) then found = true else table.insert(kept, l) end
end
if not known then redis.call('ZREM', LEASES, member) end
if not found then return 'NONE' end
redis.call('ZREM', LEASES, member)
rec.leases = kept
local retire = (not rec.gone) and rec.complete and rec.used >= rec.downloads and #kept == 0
if retire then count(rec, -1) rec.gone = true end
save(rec)
if retire then return 'RETIRE' end
return 'ENDED'`);
