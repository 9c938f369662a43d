/**
 * Lua scripts of the order ledger. Each runs atomically in Redis, which is what lets many worker
 * processes and the webhook receiver share one record without locks.
 *
 * Record: hash `<prefix>:vf:order:<merchant_order_id>` with fields
 *   state   – JSON OrderState (absent when only a webhook event is known)
 *   version – integer, bumped by every state write (compare-and-set)
 *   owner   – id of the intent job that drives the order
 *   event   – JSON of the last webhook order seen for this merchant_order_id
 * Tombstones: hash `<prefix>:vf:done` merchant_order_id → final status, kept after the record
 * expires so the id can never produce a second result.
 */

/** KEYS: record, done-hash, unmatched-set. ARGV: mid, jobId, initial state JSON. */
export const CLAIM = `
local r = redis.call('HMGET', KEYS[1], 'state', 'version', 'owner', 'event')
local state = r[1]
if not state then
  local done = redis.call('HGET', KEYS[2], ARGV[1])
  if done then return {'finished', done} end
  redis.call('HSET', KEYS[1], 'state', ARGV[3], 'version', 1, 'owner', ARGV[2])
  -- A record that held only an early webhook event had a TTL and was listed as unmatched; a
  -- claimed order must not expire, and it is matched now.
  if r[4] then
    redis.call('PERSIST', KEYS[1])
    redis.call('SREM', KEYS[3], ARGV[1])
  end
  return {'claimed', ARGV[3], '1', r[4] or ''}
end
if r[3] == ARGV[2] then
  return {'owner', state, r[2], r[4] or ''}
end
return {'duplicate', r[3] or ''}
`;

/** KEYS: record. Returns {state, version, event, owner} or nil. */
export const LOAD = `
local r = redis.call('HMGET', KEYS[1], 'state', 'version', 'event', 'owner')
if not r[1] then return nil end
return {r[1], r[2], r[3] or '', r[4] or ''}
`;

/**
 * KEYS: record, done-hash. ARGV: expected version, state JSON, phase, retention seconds, mid, final status.
 * Returns {new version, stored webhook event or ''}, or {0} when another writer got there first.
 * The event comes back so a worker learns of a webhook that arrived while it was mid-request.
 */
export const SAVE = `
local r = redis.call('HMGET', KEYS[1], 'version', 'event')
local version = tonumber(r[1] or '0')
if version ~= tonumber(ARGV[1]) then return {0} end
version = version + 1
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', version)
if ARGV[3] == 'done' then
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
end
return {version, r[2] or ''}
`;

/**
 * KEYS: record, unmatched-set. ARGV: event JSON, terminal flag ('1'/'0'), mid, retention seconds.
 * Returns {outcome, owner, hasState, state, version}: outcome 'duplicate' when a terminal event is
 * already stored. The state comes back so the webhook fast path needs no second round trip.
 */
export const RECORD_EVENT = `
local r = redis.call('HMGET', KEYS[1], 'eventTerminal', 'owner', 'state', 'version')
local hasState = 0
if r[3] then hasState = 1 end
if r[1] == '1' then
  return {'duplicate', r[2] or '', hasState, r[3] or '', r[4] or '0'}
end
redis.call('HSET', KEYS[1], 'event', ARGV[1], 'eventTerminal', ARGV[2])
if hasState == 0 then
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
end
return {'stored', r[2] or '', hasState, r[3] or '', r[4] or '0'}
`;
