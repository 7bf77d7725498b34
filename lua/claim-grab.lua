--[[
claim-grab: the consumer takes a grab whose message it is about to persist, and makes sure Redis
counts it. Only a tombstone (the grab was released and answered 503) makes a message droppable;
anything else is persisted, because Redis may be incomplete (a failover to a replica that missed
the last writes, a lost shard, a message redriven after a rebuild) while MySQL is the record.

A claimed grab stands: its pending outbox entry is marked claimed, so the request that made it
(whose send may have failed although the queue took the message) can no longer release it. The
entry stays for the sweeper, which lists the grab if the request could not and clears the entry.

KEYS[1]  coupon:{<seller>/<name>}:info      hash: id, amount, left, stock, description
KEYS[2]  coupon:{<seller>/<name>}:holders   set of usernames
KEYS[3]  coupon:{<seller>/<name>}:outbox    hash: username -> "<grabbedAtMs>|<requestId>[|c]"
KEYS[4]  coupon:{<seller>/<name>}:released  tombstones of released grabs: "<username>|<requestId>"
ARGV[1]  username
ARGV[2]  request id of the grab (from the message)
ARGV[3]  coupon id (from the message)

Returns
  {1}                        held: claimed (a pending entry of this request now ends in "|c")
  {2, left, stock, description}
                             repaired: the customer was missing from the holders although no
                             tombstone says the grab was released; added, and left decremented
                             (a negative left means the coupon was resold: reconciliation needed)
  {0}                        released: a tombstone matches; the message must not become a purchase
  {-1}                       unknown: Redis does not know the coupon (cold cache); MySQL decides
  {-2}                       mismatch: Redis knows this seller/name under another id (poison)
]]
if redis.call('SISMEMBER', KEYS[4], ARGV[1] .. '|' .. ARGV[2]) == 1 then
  return {0}
end
local info = redis.call('HMGET', KEYS[1], 'id', 'stock', 'description')
if not info[1] then
  return {-1}
end
if info[1] ~= ARGV[3] then
  return {-2}
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  local pending = redis.call('HGET', KEYS[3], ARGV[1])
  local mine = '|' .. ARGV[2]
  if pending and string.sub(pending, -#mine) == mine then
    redis.call('HSET', KEYS[3], ARGV[1], pending .. '|c')
  end
  return {1}
end
redis.call('SADD', KEYS[2], ARGV[1])
local left = redis.call('HINCRBY', KEYS[1], 'left', -1)
return {2, left, info[2], info[3]}
