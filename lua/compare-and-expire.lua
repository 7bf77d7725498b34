--[[
compare-and-expire: renews a lock's lifetime only if it still holds this caller's token.

KEYS[1]  the lock
ARGV[1]  the caller's token
ARGV[2]  new lifetime, milliseconds

Returns 1 renewed, 0 not this caller's lock (it expired, or another caller holds it)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
