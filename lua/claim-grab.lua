--[[
claim-grab: the consumer takes a grab whose message it is about to persist. From then on the grab
stands: its pending outbox entry, if any, is marked claimed, so the request that made it (whose send
may have failed although the queue took the message) can no longer release it. The entry stays for
the sweeper, which lists the grab if the request could not and clears the entry.

KEYS[1]  coupon:{<seller>/<name>}:info     hash: id, amount, left, stock, description
KEYS[2]  coupon:{<seller>/<name>}:holders  set of usernames
KEYS[3]  coupon:{<seller>/<name>}:outbox   hash: username -> "<grabbedAtMs>|<requestId>"
ARGV[1]  username

Returns
  1   claimed: the customer holds the coupon; a pending entry now reads "<grabbedAtMs>|claimed"
  0   not held: the grab was released, its message must not become a purchase
  -1  unknown coupon: Redis does not know it, MySQL decides
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then
  return 0
end
local pending = redis.call('HGET', KEYS[3], ARGV[1])
if pending then
  local bar = string.find(pending, '|', 1, true)
  if bar then
    redis.call('HSET', KEYS[3], ARGV[1], string.sub(pending, 1, bar) .. 'claimed')
  end
end
return 1
