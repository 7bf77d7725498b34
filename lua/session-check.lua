--[[
session-check: put in front of grab-coupon (as the script grabInSession) on a single Redis node,
where one script may read any key: the grab's round trip also checks the caller's session, as
SessionCache.session does on its own. Not used on a cluster (these keys live in other slots).

KEYS[8]  cache:warm      present once the cache holds a complete copy of MySQL
KEYS[9]  revoked:<jti>   present while the caller's token is revoked

Returns {-8} when the cache is cold, {-7} when the token is revoked: nothing is taken or counted.
]]
if redis.call('EXISTS', KEYS[8]) == 0 then
  return {-8}
end
if redis.call('EXISTS', KEYS[9]) == 1 then
  return {-7}
end
