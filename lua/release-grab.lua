--[[
release-grab: undoes a grab whose message the queue did not accept, so that nothing is taken.
Only the request that made the grab can release it, and only while its outbox entry is pending.

KEYS[1]  coupon:{<seller>/<name>}:info     hash: id, amount, left, stock, description
KEYS[2]  coupon:{<seller>/<name>}:holders  set of usernames
KEYS[3]  coupon:{<seller>/<name>}:outbox   hash: username -> "<grabbedAtMs>|<requestId>"
ARGV[1]  username
ARGV[2]  request id of the grab to undo

Returns
  1  released: outbox entry removed, holder removed, left incremented
  0  nothing to release (no pending entry of that request)
]]
local pending = redis.call('HGET', KEYS[3], ARGV[1])
local suffix = '|' .. ARGV[2]
if not pending or string.sub(pending, -#suffix) ~= suffix then
  return 0
end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'left', 1)
return 1
