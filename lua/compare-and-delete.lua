--[[
compare-and-delete: releases a lock only if it still holds this caller's token (a lock that expired
and was taken by another caller is left alone).

KEYS[1]  the lock
ARGV[1]  the caller's token

Returns 1 deleted, 0 not this caller's lock
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
