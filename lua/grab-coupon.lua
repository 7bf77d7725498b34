--[[
grab-coupon: takes one coupon for one customer, atomically.

KEYS[1]  coupon:{<seller>/<name>}:info     hash: id, amount, left, stock, description
KEYS[2]  coupon:{<seller>/<name>}:holders  set of usernames holding the coupon
KEYS[3]  coupon:{<seller>/<name>}:outbox   hash: username -> "<grabbedAtMs>|<requestId>" while the
                                           queue has not accepted the grab's message;
                                           "<grabbedAtMs>|<requestId>|c" once the consumer claimed it
ARGV[1]  username of the customer
ARGV[2]  grabbedAt, milliseconds since the epoch
ARGV[3]  request id: a retried call of the same request (a resend after a reconnect) answers
         "granted" again instead of "already owned"

Returns
  {1, id, stock, description}  granted: left decremented, holder added, outbox entry written
  {0}                          not found: no such coupon
  {-1}                         sold out: left is 0
  {-2}                         already owned: the customer holds it (from another request)
]]
local info = redis.call('HMGET', KEYS[1], 'id', 'left', 'stock', 'description')
if not info[1] then
  return {0}
end

if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  local pending = redis.call('HGET', KEYS[3], ARGV[1])
  local suffix = '|' .. ARGV[3]
  if pending and string.sub(pending, -#suffix) == suffix then
    return {1, info[1], info[3], info[4]}
  end
  return {-2}
end

if tonumber(info[2]) <= 0 then
  return {-1}
end

redis.call('HINCRBY', KEYS[1], 'left', -1)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
return {1, info[1], info[3], info[4]}
