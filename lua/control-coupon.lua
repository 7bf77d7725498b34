--[[
control-coupon: a seller's control of a running sale, applied to the live coupon atomically, in
its slot, so it orders exactly against grabs: pause, resume, or an amount change that moves
`amount` and `left` together (promise 3: left = amount - purchases, whatever is sold meanwhile).

KEYS[1]  coupon:{<seller>/<name>}:info   hash: id, amount, left, ..., paused
ARGV[1]  "pause", "resume" or "amount"
ARGV[2]  amount change: the number to add to amount and left (negative takes unsold ones back)
ARGV[3]  "1" to apply an amount change whatever is left (undoing an earlier change), else "0"
ARGV[4]  the largest amount allowed

Returns
  {1, amount, left, paused}  applied: the values right after the change, and whether the coupon
                     was paused before it (1 or 0), so that a change can be undone exactly
  {0}                not found: Redis does not know the coupon
  {-1, amount, left} too many: taking back more than is left; nothing changed
  {-2, amount, left} too big: the amount would exceed the largest allowed; nothing changed
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0}
end
local wasPaused = redis.call('HGET', KEYS[1], 'paused') == '1' and 1 or 0
if ARGV[1] == 'pause' then
  redis.call('HSET', KEYS[1], 'paused', '1')
elseif ARGV[1] == 'resume' then
  redis.call('HSET', KEYS[1], 'paused', '0')
elseif ARGV[1] == 'amount' then
  local add = tonumber(ARGV[2])
  local left = tonumber(redis.call('HGET', KEYS[1], 'left'))
  local amount = tonumber(redis.call('HGET', KEYS[1], 'amount'))
  if ARGV[3] ~= '1' then
    if add < 0 and -add > left then
      return {-1, amount, left}
    end
    if add > 0 and amount + add > tonumber(ARGV[4]) then
      return {-2, amount, left}
    end
  end
  redis.call('HINCRBY', KEYS[1], 'amount', add)
  redis.call('HINCRBY', KEYS[1], 'left', add)
else
  return redis.error_reply('ERR unknown control ' .. ARGV[1])
end
local state = redis.call('HMGET', KEYS[1], 'amount', 'left')
return {1, tonumber(state[1]), tonumber(state[2]), wasPaused}
