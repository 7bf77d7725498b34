--[[
release-grab: undoes a grab whose message the queue may not have accepted (the send failed or timed
out, or no replica acknowledged the grab), so that nothing is taken. Only the request that made the
grab can release it, and only while its outbox entry is pending. A released grab leaves a tombstone:
if its message reached the queue after all, the consumer finds the tombstone and drops it.

KEYS[1]  coupon:{<seller>/<name>}:info      hash: id, amount, left, stock, description
KEYS[2]  coupon:{<seller>/<name>}:holders   set of usernames
KEYS[3]  coupon:{<seller>/<name>}:outbox    hash: username -> "<grabbedAtMs>|<requestId>[|c]"
KEYS[4]  coupon:{<seller>/<name>}:released  tombstones of released grabs: "<username>|<requestId>"
KEYS[5]  coupon:{<seller>/<name>}:stats     hash: outcome -> answers; a released grab was not a 201
ARGV[1]  username
ARGV[2]  request id of the grab to undo
ARGV[3]  tombstone lifetime, seconds (longer than the queue keeps a message)

Returns
  1  released: outbox entry removed, holder removed, left incremented, tombstone written, the
     grab no longer counted as granted
  2  stands: the consumer already claimed the grab (its message was in the queue), or the customer
     holds the coupon by a record that came back from MySQL; nothing changed
  0  nothing held: the grab is gone from Redis (data lost); the tombstone is written all the same
]]
local pending = redis.call('HGET', KEYS[3], ARGV[1])
local mine = '|' .. ARGV[2]
if pending and string.sub(pending, -#mine) == mine then
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'left', 1)
  redis.call('SADD', KEYS[4], ARGV[1] .. '|' .. ARGV[2])
  redis.call('EXPIRE', KEYS[4], ARGV[3])
  redis.call('HINCRBY', KEYS[5], 'granted', -1)
  return 1
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return 2
end
redis.call('SADD', KEYS[4], ARGV[1] .. '|' .. ARGV[2])
redis.call('EXPIRE', KEYS[4], ARGV[3])
return 0
