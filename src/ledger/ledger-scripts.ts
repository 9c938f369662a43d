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

/** KEYS: record, done-hash. ARGV: mid, jobId, initial state JSON. */
export const CLAIM = `
local done = redis.call('HGET', KEYS[2], ARGV[1])
local state = redis.call('HGET', KEYS[1], 'state')
if (not state) and done then
  return {'finished', done}
end
if not state then
  redis.call('HSET', KEYS[1], 'state', ARGV[3], 'version', 1, 'owner', ARGV[2])
  -- A record that held only an early webhook event had a TTL; a claimed order must not expire.
  redis.call('PERSIST', KEYS[1])
  return {'claimed', ARGV[3], '1', redis.call('HGET', KEYS[1], 'event') or ''}
end
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner == ARGV[2] then
  return {'owner', state, redis.call('HGET', KEYS[1], 'version'), redis.call('HGET', KEYS[1], 'event') or ''}
end
return {'duplicate', owner or ''}
`;

/** KEYS: record. Returns {state, version, event, owner} or nil. */
export const LOAD = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return nil end
return {state, redis.call('HGET', KEYS[1], 'version'), redis.call('HGET', KEYS[1], 'event') or '', redis.call('HGET', KEYS[1], 'owner') or ''}
`;

/**
 * KEYS: record, done-hash. ARGV: expected version, state JSON, phase, retention seconds, mid, final status.
 * Returns {new version, stored webhook event or ''}, or {0} when another writer got there first.
 * The event comes back so a worker learns of a webhook that arrived while it was mid-request.
 */
export const SAVE = `
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then return {0} end
version = version + 1
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', version)
if ARGV[3] == 'done' then
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
end
return {version, redis.call('HGET', KEYS[1], 'event') or ''}
`;

/**
 * KEYS: record, unmatched-set. ARGV: event JSON, terminal flag ('1'/'0'), mid, retention seconds.
 * Returns {outcome, owner, hasState}: outcome 'duplicate' when a terminal event is already stored.
 */
export const RECORD_EVENT = `
local previous = redis.call('HGET', KEYS[1], 'event')
if previous and redis.call('HGET', KEYS[1], 'eventTerminal') == '1' then
  return {'duplicate', redis.call('HGET', KEYS[1], 'owner') or '', redis.call('HEXISTS', KEYS[1], 'state')}
end
redis.call('HSET', KEYS[1], 'event', ARGV[1], 'eventTerminal', ARGV[2])
local hasState = redis.call('HEXISTS', KEYS[1], 'state')
if hasState == 0 then
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
end
return {'stored', redis.call('HGET', KEYS[1], 'owner') or '', hasState}
`;
