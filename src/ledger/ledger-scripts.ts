/**
 * Lua scripts of the order ledger. Each runs atomically in Redis, which is what lets many worker
 * processes and the webhook receiver share one record without locks. Key names: `projectKeys`
 * (redis/keys.ts).
 *
 * Record: hash `order(merchant_order_id)` with fields
 *   state   – JSON OrderState (absent when only a webhook event is known)
 *   version – integer, bumped by every state write (compare-and-set)
 *   owner   – id of the intent job that drives the order
 *   orderId – the order id once known (copied from state, so RECORD_EVENT can dedupe without decoding it)
 *   event   – JSON of the webhook order stored for this merchant_order_id
 *   eventOrderId, eventTerminal – that event's order id and whether its status is terminal
 * Conflicting events: list `conflictingEvents` of webhook events whose order id is
 * not the order's (newest first, at most 1000, expiring with the retention), kept for inspection.
 * Tombstones: string `tombstone(mid)` = final status, written with the result and kept
 * TOMBSTONE_TTL_SECONDS (≥ the record's retention) so the id cannot produce a second result after
 * its record expires. One key per id, not one hash: Redis expires each on its own (a hash field
 * cannot expire before Redis 7.4), and no script touches a key it does not name.
 * Unmatched events: sorted set `unmatchedEvents`, mid → when its event was stored (ms). Why a scored
 * set and not a per-id key: it is an index an operator lists (ZRANGE), which per-id keys would turn
 * into a SCAN; the event itself lives in the record, which expires on its own. RECORD_EVENT prunes
 * entries older than the TTL and sets the key's TTL, so an entry outlives its event by at most
 * one TTL and the whole set goes once events stop.
 */

/**
 * KEYS: record, tombstone, unmatched index, legacy tombstones hash. ARGV: mid, jobId, initial state JSON.
 * The legacy hash is read only: a fleet upgraded in place must not run an id an older release finished.
 */
export const CLAIM = `
local r = redis.call('HMGET', KEYS[1], 'state', 'version', 'owner', 'event')
local state = r[1]
if not state then
  local done = redis.call('GET', KEYS[2]) or redis.call('HGET', KEYS[4], ARGV[1])
  if done then return {'finished', done} end
  redis.call('HSET', KEYS[1], 'state', ARGV[3], 'version', 1, 'owner', ARGV[2])
  -- A record that held only an early webhook event had a TTL and was listed as unmatched; a
  -- claimed order must not expire, and it is matched now.
  if r[4] then
    redis.call('PERSIST', KEYS[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
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
 * KEYS: record, tombstone, funds-waiting set, reminder set. ARGV: expected version, state JSON, phase,
 * retention seconds, mid, final status ('' = no tombstone to write: not done, or done already), order
 * id to record ('' = none new), tombstone TTL seconds, when the order started waiting for funds (ms),
 * '1' when the order may be in the funds-waiting set and leaves it, the reminder time to set (ms,
 * '' = none new), '1' when the order may hold a reminder that goes.
 * The reminder set has no TTL of its own: an entry leaves with its order's emission (or is dropped by
 * the poller when its order is gone), so it holds at most the orders in flight.
 * Returns {new version, stored webhook event or ''}, or {0} when another writer got there first.
 * The event comes back so a worker learns of a webhook that arrived while it was mid-request.
 * The funds-waiting and reminder sets follow the state in the same write, so they never drift from
 * the records. The caller knows the state it replaces (the compare-and-set guarantees it is the
 * stored one), so only a write that changes a set's membership touches it: most writes touch neither.
 */
export const SAVE = `
local r = redis.call('HMGET', KEYS[1], 'version', 'event')
local version = tonumber(r[1] or '0')
if version ~= tonumber(ARGV[1]) then return {0} end
version = version + 1
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', version, 'orderId', ARGV[7])
else
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', version)
end
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[2], ARGV[6], 'EX', tonumber(ARGV[8]))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
end
if ARGV[3] == 'waiting_funds' then
  redis.call('ZADD', KEYS[3], ARGV[9], ARGV[5])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
elseif ARGV[10] == '1' then
  redis.call('ZREM', KEYS[3], ARGV[5])
end
if ARGV[11] ~= '' then
  redis.call('ZADD', KEYS[4], ARGV[11], ARGV[5])
elseif ARGV[12] == '1' then
  redis.call('ZREM', KEYS[4], ARGV[5])
end
return {version, r[2] or ''}
`;

/**
 * KEYS: record. ARGV: the owner expected, the new owner. Moves the order to another intent job (the
 * reminder re-adds a job whose completed one is gone under a safe id) only if it is still the
 * expected one's. Returns 1 when moved, 0 when another owner took over meanwhile.
 */
export const REASSIGN_OWNER = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[2])
return 1
`;

/**
 * KEYS: reminder set. ARGV: now (ms), lease (ms), most to take.
 * Returns the merchant_order_ids whose reminder is due, each pushed `lease` ms into the future in
 * the same step, so the workers polling the set do not all run the same job, and a reminder whose
 * run is lost (its worker died) comes round again. A reminder leaves the set only with the state
 * write that emits the order's result (SAVE).
 */
export const TAKE_DUE_REMINDERS = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local later = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, mid in ipairs(due) do redis.call('ZADD', KEYS[1], later, mid) end
return due
`;

/**
 * KEYS: record, unmatched index, conflicting-events list. ARGV: event JSON, terminal flag ('1'/'0'), mid,
 * retention seconds, the event's order id, the event's status, unmatched-event TTL seconds.
 * Returns {outcome, owner, hasState, state, version}. Events are deduplicated on order_id:
 * - 'conflict': the order's id is known and this event is for another one. It is kept aside (the
 *   list), never stored as the order's event, so it cannot block the real one.
 * - 'duplicate': a terminal event for this order id is already stored.
 * - 'stored': stored as the order's event (a terminal one bumps the record's version). While no id is
 *   known, a terminal event for another order id that was stored before is moved aside to make room.
 * What goes aside is `{merchant_order_id, order_id, status}`, never the event (it may hold codes).
 * The state comes back so the webhook fast path needs no second round trip.
 */
export const RECORD_EVENT = `
local r = redis.call('HMGET', KEYS[1], 'eventTerminal', 'owner', 'state', 'version', 'orderId', 'eventOrderId', 'event')
local hasState = 0
if r[3] then hasState = 1 end
-- Kept aside: who and what, never the event itself (it may carry delivered codes).
local function aside(orderId, status)
  redis.call('LPUSH', KEYS[3], cjson.encode({merchant_order_id = ARGV[3], order_id = orderId, status = status}))
  redis.call('LTRIM', KEYS[3], 0, 999)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
end
if r[5] and r[5] ~= ARGV[5] then
  aside(ARGV[5], ARGV[6])
  return {'conflict', r[2] or '', hasState, r[3] or '', r[4] or '0'}
end
if r[1] == '1' then
  -- Records stored before eventOrderId existed: the id is in the stored event.
  local stored = r[6]
  local old = nil
  if r[7] then old = cjson.decode(r[7]) end
  if not stored and old then stored = old.id end
  if stored == ARGV[5] then return {'duplicate', r[2] or '', hasState, r[3] or '', r[4] or '0'} end
  aside(stored or '', old and old.status or '')
end
redis.call('HSET', KEYS[1], 'event', ARGV[1], 'eventTerminal', ARGV[2], 'eventOrderId', ARGV[5])
local version = r[4] or '0'
if hasState == 0 then
  -- Scored by Redis's own clock, the one its TTLs run on (scripts replicate their effects, so TIME is allowed before writes).
  local ttl = tonumber(ARGV[7])
  local t = redis.call('TIME')
  local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[2], nowMs, ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', nowMs - ttl * 1000)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[1], ttl)
elseif ARGV[2] == '1' then
  -- A writer that loaded the record before this event must not save over it unseen (it would decide
  -- without the webhook, e.g. unresolved at the deadline): its compare-and-set now fails, it reloads.
  version = redis.call('HINCRBY', KEYS[1], 'version', 1)
end
return {'stored', r[2] or '', hasState, r[3] or '', version}
`;
