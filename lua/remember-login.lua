--[[
remember-login: stores a verified login in the login cache, unless the user's password hash changed
(or the user was removed) since the login read it. Used by lib/auth/login-cache.ts.

KEYS[1]  user:{<username>}:credential  string: keyed fingerprint of the current password hash,
                                       or a marker written while a hash changes / after a removal
KEYS[2]  user:{<username>}:login       string: "<kind>$<MAC of username, password, fingerprint, kind>"
ARGV[1]  fingerprint of the hash the login verified
ARGV[2]  fingerprint to store (the same, or that of the hash a rehash just wrote)
ARGV[3]  the entry for KEYS[2]
ARGV[4]  TTL of KEYS[2], seconds
ARGV[5]  TTL of KEYS[1], seconds

Returns
  1  stored
  0  not stored: KEYS[1] holds another fingerprint (the hash changed or the user was removed)
]]
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[5])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return 1
