--[[
grab-coupon: takes one coupon for one customer, atomically, and counts the answer. One round trip
decides every outcome: the grab rate limits, the pause flag, the sale window, the holders and the
stock are all checked here, by Redis's own clock (TIME), so every container decides by one clock.

KEYS[1]  coupon:{<seller>/<name>}:info     hash: id, amount, left, stock, description, paused,
                                           startsAt, endsAt (epoch ms, "" for none)
KEYS[2]  coupon:{<seller>/<name>}:holders  set of usernames holding the coupon
KEYS[3]  coupon:{<seller>/<name>}:outbox   hash: username -> "<grabbedAtMs>|<requestId>" while the
                                           queue has not accepted the grab's message;
                                           "<grabbedAtMs>|<requestId>|c" once the consumer claimed it
KEYS[4]  coupon:{<seller>/<name>}:stats    hash: outcome -> answers counted since creation
KEYS[5]  coupon:{<seller>/<name>}:seconds  hash, a ring of 128 seconds: t<i> = the epoch second
                                           slot i holds, g<i> = 201s, r<i> = other answers
KEYS[6]  coupon:{<seller>/<name>}:rate:c:<username>  string with expiry: the customer's next
                                           allowed time (GCRA), epoch ms
KEYS[7]  coupon:{<seller>/<name>}:rate:a:<address>   the same for the client address
ARGV[1]  username of the customer
ARGV[2]  grabbedAt, milliseconds since the epoch (the outbox entry's age, for the sweeper)
ARGV[3]  request id: a retried call of the same request (a resend after a reconnect) answers
         "granted" again instead of "already owned", and is not counted twice
ARGV[4]  grabs per second allowed per customer (0: no limit)
ARGV[5]  burst per customer (grabs allowed at once)
ARGV[6]  grabs per second allowed per client address (0: no limit, or no address)
ARGV[7]  burst per address

Returns
  {1, id, stock, description}  granted: left decremented, holder added, outbox entry written
  {0}                          not found: no such coupon (not counted)
  {-1}                         sold out: left is 0
  {-2}                         already owned: the customer holds it (from another request)
  {-3}                         paused by the seller
  {-4}                         not started: before startsAt
  {-5}                         ended: at or after endsAt
  {-6, seconds}                rate limited: retry after that many seconds (nothing taken)
Outcomes -1..-6 win in the order of api.md: already-owned, paused, not-started, ended, sold-out
(a rate limit is checked first: a request over it is not looked at further).
]]
local info = redis.call('HMGET', KEYS[1], 'id', 'left', 'stock', 'description', 'paused', 'startsAt', 'endsAt')
if not info[1] then
  return {0}
end

local held = redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1
if held then
  local pending = redis.call('HGET', KEYS[3], ARGV[1])
  local suffix = '|' .. ARGV[3]
  if pending and string.sub(pending, -#suffix) == suffix then
    return {1, info[1], info[3], info[4]}
  end
end

local time = redis.call('TIME')
local second = tonumber(time[1])
local nowMs = second * 1000 + math.floor(tonumber(time[2]) / 1000)

local function count(outcome)
  redis.call('HINCRBY', KEYS[4], outcome, 1)
  local slot = second % 128
  if redis.call('HGET', KEYS[5], 't' .. slot) ~= tostring(second) then
    redis.call('HSET', KEYS[5], 't' .. slot, second, 'g' .. slot, 0, 'r' .. slot, 0)
  end
  redis.call('HINCRBY', KEYS[5], (outcome == 'granted' and 'g' or 'r') .. slot, 1)
end

-- GCRA: the earliest time the next request is allowed, per key. Returns the new value to store,
-- or nil and the seconds to wait.
local function admit(key, rate, burst)
  if rate <= 0 then
    return 0
  end
  local interval = 1000 / rate
  local tat = tonumber(redis.call('GET', key)) or nowMs
  if tat < nowMs then
    tat = nowMs
  end
  local nextTat = tat + interval
  local allowedAt = nextTat - interval * burst
  if allowedAt > nowMs then
    return nil, math.max(1, math.ceil((allowedAt - nowMs) / 1000))
  end
  return nextTat
end

local customerRate, addressRate = tonumber(ARGV[4]), tonumber(ARGV[6])
if customerRate > 0 or addressRate > 0 then
  local customerTat, customerWait = admit(KEYS[6], customerRate, tonumber(ARGV[5]))
  local addressTat, addressWait = admit(KEYS[7], addressRate, tonumber(ARGV[7]))
  if not customerTat or not addressTat then
    count('rate-limited')
    return {-6, math.max(customerWait or 0, addressWait or 0)}
  end
  if customerRate > 0 then
    redis.call('SET', KEYS[6], string.format('%.3f', customerTat), 'PX', math.ceil(customerTat - nowMs) + 1)
  end
  if addressRate > 0 then
    redis.call('SET', KEYS[7], string.format('%.3f', addressTat), 'PX', math.ceil(addressTat - nowMs) + 1)
  end
end

if held then
  count('already-owned')
  return {-2}
end
if info[5] == '1' then
  count('paused')
  return {-3}
end
if info[6] and info[6] ~= '' and nowMs < tonumber(info[6]) then
  count('not-started')
  return {-4}
end
if info[7] and info[7] ~= '' and nowMs >= tonumber(info[7]) then
  count('ended')
  return {-5}
end
if tonumber(info[2]) <= 0 then
  count('sold-out')
  return {-1}
end

redis.call('HINCRBY', KEYS[1], 'left', -1)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
count('granted')
return {1, info[1], info[3], info[4]}
