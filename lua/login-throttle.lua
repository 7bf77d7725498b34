--[[
login-throttle: failed logins of one username or one client address within a sliding window,
by Redis's clock. One key per script (a username and an address live in different slots).

KEYS[1]  login:fail:u:{<username folded>} or login:fail:a:{<address>}: sorted set of failures,
         scored by their time (epoch ms), expiring with the window
ARGV[1]  "check" (is this key throttled?) or "fail" (count one failed login)
ARGV[2]  window, milliseconds
ARGV[3]  failures allowed within the window

Returns
  0   not throttled (after "fail": counted)
  n   throttled: retry after n seconds, when the oldest counted failure leaves the window
]]
local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs - window)
if ARGV[1] == 'fail' then
  redis.call('ZADD', KEYS[1], nowMs, nowMs .. ':' .. time[2] .. ':' .. redis.call('ZCARD', KEYS[1]))
  -- Only the newest `limit` failures matter: the set stays small however many fail.
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -limit - 1)
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
if redis.call('ZCARD', KEYS[1]) < limit then
  return 0
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
return math.max(1, math.ceil((oldest + window - nowMs) / 1000))
