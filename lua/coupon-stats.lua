--[[
coupon-stats: a coupon's live state and counters, read atomically, with Redis's clock (the one the
grab script counts seconds by).

KEYS[1]  coupon:{<seller>/<name>}:info     hash: amount, left, paused, startsAt, endsAt, ...
KEYS[2]  coupon:{<seller>/<name>}:stats    hash: outcome -> answers counted
KEYS[3]  coupon:{<seller>/<name>}:seconds  ring of 128 seconds: t<i>, g<i>, r<i>

Returns
  {}   when Redis does not know the coupon
  {now, {amount, left, paused, startsAt, endsAt}, {outcome, n, ...}, {field, value, ...}}
       now in epoch seconds; the two hashes flattened as HGETALL gives them
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
local time = redis.call('TIME')
return {
  tonumber(time[1]),
  redis.call('HMGET', KEYS[1], 'amount', 'left', 'paused', 'startsAt', 'endsAt'),
  redis.call('HGETALL', KEYS[2]),
  redis.call('HGETALL', KEYS[3]),
}
