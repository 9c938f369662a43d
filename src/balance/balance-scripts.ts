/**
 * Fleet-wide funds bookkeeping, atomic in Redis. Key names: `projectKeys` (redis/keys.ts).
 * Hash `balance`: value (last balance read), readAtMs, epoch (bumped per read),
 * spent (costs reserved since that read), windowSpent (charged within the spend window).
 * Hash `reservations`: mid → "epoch:cost".
 * With a spend limit: sorted set `spendLog` (mid scored by when it was reserved) and
 * hash `spendAmounts` (mid → amount counted against the limit); both hold only the
 * orders of the current window, so they stay bounded.
 */

/**
 * KEYS: balance, reservations, spend log, spend amounts.
 * ARGV: mid, cost (-1 = unknown), now ms, freshness ms (-1 = any reading), spend limit (-1 = none), spend window ms.
 * Returns 'ok' (reserved, or already reserved), 'capped' (the spend limit leaves no room), 'short'
 * (a fresh reading cannot cover it) or 'stale' (read the balance, then call again).
 */
export const RESERVE = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'ok' end
local cost = tonumber(ARGV[2])
local limit = tonumber(ARGV[5])
if limit >= 0 then
  -- Forget what left the window (a bounded batch per call: what is left over stays counted, which errs
  -- on the safe side). An order still holding its reservation may not have been sent yet (a 429, an
  -- ambiguous retry): it stays counted, moved to now, until its result gives the reservation back.
  local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[6]), 'LIMIT', 0, 500)
  for _, m in ipairs(old) do
    if redis.call('HEXISTS', KEYS[2], m) == 1 then
      redis.call('ZADD', KEYS[3], ARGV[3], m)
    else
      local a = redis.call('HGET', KEYS[4], m)
      if a then redis.call('HINCRBYFLOAT', KEYS[1], 'windowSpent', -tonumber(a)) end
      redis.call('HDEL', KEYS[4], m)
      redis.call('ZREM', KEYS[3], m)
    end
  end
  -- A running float sum drifts: an empty window is exactly zero.
  if #old > 0 and redis.call('ZCARD', KEYS[3]) == 0 then redis.call('HSET', KEYS[1], 'windowSpent', 0) end
  local inWindow = tonumber(redis.call('HGET', KEYS[1], 'windowSpent') or '0')
  if cost < 0 then
    if inWindow >= limit then return 'capped' end
  elseif inWindow + cost > limit + 1e-9 then
    return 'capped'
  end
end
local b = redis.call('HMGET', KEYS[1], 'value', 'readAtMs', 'epoch', 'spent')
if not b[1] then return 'stale' end
-- A freshness below zero takes any reading there is (the caller could not get a fresh one).
local fresh = tonumber(ARGV[4])
if fresh >= 0 and tonumber(ARGV[3]) - tonumber(b[2]) > fresh then return 'stale' end
local available = tonumber(b[1]) - tonumber(b[4] or '0')
if cost < 0 then
  -- Unknown cost: all we can ask is that some money is left.
  if available <= 0 then return 'short' end
  cost = 0
elseif available + 1e-9 < cost then
  return 'short'
end
redis.call('HINCRBYFLOAT', KEYS[1], 'spent', cost)
redis.call('HSET', KEYS[2], ARGV[1], b[3] .. ':' .. cost)
if limit >= 0 then
  local before = redis.call('HGET', KEYS[4], ARGV[1])
  if before then redis.call('HINCRBYFLOAT', KEYS[1], 'windowSpent', -tonumber(before)) end
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  redis.call('HSET', KEYS[4], ARGV[1], cost)
  redis.call('HINCRBYFLOAT', KEYS[1], 'windowSpent', cost)
end
return 'ok'
`;

/** KEYS: balance. ARGV: balance value, now ms. A new reading starts a new epoch with nothing spent. */
export const REFRESH = `
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'readAtMs', ARGV[2], 'spent', 0)
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
return 1
`;

/**
 * KEYS: balance, reservations, spend log, spend amounts.
 * ARGV: mid, balance to give back (-1 = the whole reservation), spend to give back (-1 = all of it).
 * Gives money back to the current epoch only: an older reading never saw it spent. Idempotent: only
 * a reservation still open is given back, so a repeated release changes nothing.
 */
export const RELEASE = `
local r = redis.call('HGET', KEYS[2], ARGV[1])
if not r then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
local sep = string.find(r, ':')
local epoch = string.sub(r, 1, sep - 1)
local cost = tonumber(string.sub(r, sep + 1))
local back = tonumber(ARGV[2])
if back < 0 or back > cost then back = cost end
if back > 0 and redis.call('HGET', KEYS[1], 'epoch') == epoch then
  redis.call('HINCRBYFLOAT', KEYS[1], 'spent', -back)
end
local a = redis.call('HGET', KEYS[4], ARGV[1])
if a then
  local amount = tonumber(a)
  local spendBack = tonumber(ARGV[3])
  if spendBack < 0 or spendBack >= amount then
    redis.call('HDEL', KEYS[4], ARGV[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
    spendBack = amount
  elseif spendBack > 0 then
    redis.call('HSET', KEYS[4], ARGV[1], amount - spendBack)
  end
  if spendBack > 0 then redis.call('HINCRBYFLOAT', KEYS[1], 'windowSpent', -spendBack) end
end
return 1
`;

export const RECORD_CHARGE = `
local r = redis.call('HGET', KEYS[2], ARGV[1])
local amount = tonumber(ARGV[2])
if r then
  local sep = string.find(r, ':')
  local epoch = string.sub(r, 1, sep - 1)
  local cost = tonumber(string.sub(r, sep + 1))
  redis.call('HSET', KEYS[2], ARGV[1], epoch .. ':' .. amount)
  if redis.call('HGET', KEYS[1], 'epoch') == epoch then
    redis.call('HINCRBYFLOAT', KEYS[1], 'spent', amount - cost)
  end
end
local a = redis.call('HGET', KEYS[4], ARGV[1])
if a then
  redis.call('HSET', KEYS[4], ARGV[1], amount)
  redis.call('HINCRBYFLOAT', KEYS[1], 'windowSpent', amount - tonumber(a))
end
return 1
`;
