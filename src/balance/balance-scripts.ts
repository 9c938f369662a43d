/**
 * Fleet-wide balance bookkeeping, atomic in Redis.
 * Hash `<prefix>:vf:balance`: value (last balance read), readAtMs, epoch (bumped per read),
 * spent (costs reserved since that read). Hash `<prefix>:vf:reservations`: mid → "epoch:cost".
 */

/**
 * KEYS: balance, reservations. ARGV: mid, cost (-1 = unknown), now ms, freshness ms.
 * Returns 'ok' (reserved, or already reserved), 'short' (a fresh reading cannot cover it) or 'stale'.
 */
export const RESERVE = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'ok' end
local b = redis.call('HMGET', KEYS[1], 'value', 'readAtMs', 'epoch', 'spent')
if not b[1] then return 'stale' end
if tonumber(ARGV[3]) - tonumber(b[2]) > tonumber(ARGV[4]) then return 'stale' end
local available = tonumber(b[1]) - tonumber(b[4] or '0')
local cost = tonumber(ARGV[2])
if cost < 0 then
  -- Unknown cost: all we can ask is that some money is left.
  if available <= 0 then return 'short' end
  cost = 0
elseif available + 1e-9 < cost then
  return 'short'
end
redis.call('HINCRBYFLOAT', KEYS[1], 'spent', cost)
redis.call('HSET', KEYS[2], ARGV[1], b[3] .. ':' .. cost)
return 'ok'
`;

/** KEYS: balance. ARGV: balance value, now ms. A new reading starts a new epoch with nothing spent. */
export const REFRESH = `
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'readAtMs', ARGV[2], 'spent', 0)
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
return 1
`;

/**
 * KEYS: balance, reservations. ARGV: mid, amount to give back (-1 = the whole reservation).
 * Gives money back to the current epoch only: an older reading never saw it spent.
 */
export const RELEASE = `
local r = redis.call('HGET', KEYS[2], ARGV[1])
if not r then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
local sep = string.find(r, ':')
local epoch = string.sub(r, 1, sep - 1)
local cost = tonumber(string.sub(r, sep + 1))
local back = tonumber(ARGV[2])
if back < 0 then back = cost end
if back > cost then back = cost end
if back > 0 and redis.call('HGET', KEYS[1], 'epoch') == epoch then
  redis.call('HINCRBYFLOAT', KEYS[1], 'spent', -back)
end
return 1
`;
