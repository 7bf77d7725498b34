--[[
add-stats: adds answers a container gave without Redis (the sold-out memory) to a coupon's
counters, in one batch.

KEYS[1]  coupon:{<seller>/<name>}:stats    hash: outcome -> answers counted
KEYS[2]  coupon:{<seller>/<name>}:seconds  ring of 128 seconds: t<i>, g<i>, r<i> (see grab-coupon)
ARGV[1]  outcome (a rejection: counted in r<i>)
ARGV[2], ARGV[3], ...  pairs: epoch second, answers in that second

Returns the number of answers added.
]]
local now = tonumber(redis.call('TIME')[1])
local total = 0
for i = 2, #ARGV, 2 do
  local second, n = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  total = total + n
  -- The ring holds the last 128 seconds: older counts only reach the totals.
  if second > now - 128 and second <= now then
    local slot = second % 128
    if redis.call('HGET', KEYS[2], 't' .. slot) ~= tostring(second) then
      redis.call('HSET', KEYS[2], 't' .. slot, second, 'g' .. slot, 0, 'r' .. slot, 0)
    end
    redis.call('HINCRBY', KEYS[2], 'r' .. slot, n)
  end
end
redis.call('HINCRBY', KEYS[1], ARGV[1], total)
return total
