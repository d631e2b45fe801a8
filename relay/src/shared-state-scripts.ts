/**
 * The Lua scripts through which relay instances share their rendezvous state in one Redis (PROTOCOL.md §12). Each
 * runs atomically, so two instances never both take a nameplate. Every key starts with the prefix ARGV[1]; the
 * scripts build key names themselves, so they need one Redis (or its primary), not a Redis Cluster.
 *
 * Keys: `live:<id>` → advertise URL (the instance's liveness, short PX); `instances` (set of ids); `np:<n>` and
 * `rc:<id>` → the id of the instance holding that nameplate or reconnect id; `burn:<n>`; `fc:<address key>` (failed
 * claims this minute); `conns:<id>` (hash: address key → connections on that instance); `secret` (link HMAC key).
 * A nameplate or reconnect id whose holder's `live:` key is gone counts as free.
 */

/** ARGV: prefix, me, kind (claim|join|reconnect), target, address key, failed-claims limit, hold PX. */
export const ROUTE = `
local p, me, kind, target, addr = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if kind ~= 'join' and tonumber(redis.call('GET', p .. 'fc:' .. addr) or '0') >= tonumber(ARGV[6]) then
  return {'rate-limited'}
end
if kind == 'claim' and redis.call('EXISTS', p .. 'burn:' .. target) == 1 then return {'burned'} end
local key = p .. (kind == 'reconnect' and 'rc:' or 'np:') .. target
local owner = redis.call('GET', key)
if owner and owner ~= me then
  local url = redis.call('GET', p .. 'live:' .. owner)
  if url then return {'remote', url} end
end
if kind ~= 'join' then redis.call('SET', key, me, 'PX', ARGV[7]) end
return {'local'}
`;

/** ARGV: prefix, me, largest nameplate to try, hold PX. The smallest nameplate nobody live holds and not burned. */
export const ALLOCATE = `
local p, me = ARGV[1], ARGV[2]
for n = 1, tonumber(ARGV[3]) do
  if redis.call('EXISTS', p .. 'burn:' .. n) == 0 then
    local owner = redis.call('GET', p .. 'np:' .. n)
    if not owner or (owner ~= me and redis.call('EXISTS', p .. 'live:' .. owner) == 0) then
      redis.call('SET', p .. 'np:' .. n, me, 'PX', ARGV[4])
      return {'local', tostring(n)}
    end
  end
end
return {'full'}
`;

/**
 * ARGV: prefix, me, address key, per-address cap, liveness PX. Counts one more connection of the address here if the
 * live instances together hold fewer than the cap (a dead instance's counts are dropped on the way); 1 or 0.
 */
export const ADMIT = `
local p, me, addr = ARGV[1], ARGV[2], ARGV[3]
local total = 0
for _, id in ipairs(redis.call('SMEMBERS', p .. 'instances')) do
  if redis.call('EXISTS', p .. 'live:' .. id) == 0 then
    redis.call('SREM', p .. 'instances', id)
    redis.call('DEL', p .. 'conns:' .. id)
  else
    total = total + tonumber(redis.call('HGET', p .. 'conns:' .. id, addr) or '0')
  end
end
if total >= tonumber(ARGV[4]) then return 0 end
redis.call('HINCRBY', p .. 'conns:' .. me, addr, 1)
redis.call('PEXPIRE', p .. 'conns:' .. me, ARGV[5])
return 1
`;

/** ARGV: prefix, me, address key. */
export const RELEASE = `
local key = ARGV[1] .. 'conns:' .. ARGV[2]
if redis.call('HINCRBY', key, ARGV[3], -1) <= 0 then redis.call('HDEL', key, ARGV[3]) end
return 1
`;

/** ARGV: prefix, me, address key. A fixed one-minute window per address. */
export const FAILED_CLAIM = `
local key = ARGV[1] .. 'fc:' .. ARGV[3]
if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, 60000) end
return 1
`;

/**
 * ARGV: prefix, me, advertise URL, liveness PX, hold PX, number of held keys, the held keys (np:<n>, rc:<id>), then
 * the keys released since. Refreshes the liveness and every hold (taking back one that a Redis restart lost), gives
 * up the released ones that are still this instance's, and answers the live instances' advertise URLs.
 */
export const HEARTBEAT = `
local p, me = ARGV[1], ARGV[2]
redis.call('SET', p .. 'live:' .. me, ARGV[3], 'PX', ARGV[4])
redis.call('SADD', p .. 'instances', me)
redis.call('PEXPIRE', p .. 'conns:' .. me, ARGV[4])
local held = tonumber(ARGV[6])
for i = 7, #ARGV do
  local key = p .. ARGV[i]
  local owner = redis.call('GET', key)
  if i < 7 + held then
    if not owner or owner == me then redis.call('SET', key, me, 'PX', ARGV[5]) end
  elseif owner == me then
    redis.call('DEL', key)
  end
end
local urls = {}
for _, id in ipairs(redis.call('SMEMBERS', p .. 'instances')) do
  local url = redis.call('GET', p .. 'live:' .. id)
  if url then table.insert(urls, url) end
end
return urls
`;

/** ARGV: prefix, me, then every key this instance holds: a graceful stop gives everything back at once. */
export const LEAVE = `
local p, me = ARGV[1], ARGV[2]
redis.call('DEL', p .. 'live:' .. me, p .. 'conns:' .. me)
redis.call('SREM', p .. 'instances', me)
for i = 3, #ARGV do
  if redis.call('GET', p .. ARGV[i]) == me then redis.call('DEL', p .. ARGV[i]) end
end
return 1
`;
