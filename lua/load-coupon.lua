--[[
load-coupon: writes a coupon's live state in one step, replacing whatever was there. Used when a
coupon is created (no holders) and when the cache is rebuilt from MySQL.

KEYS[1]  coupon:{<seller>/<name>}:info     hash: id, amount, left, stock, description, paused
                                           ("1" or "0"), startsAt and endsAt (epoch ms, "" for none)
KEYS[2]  coupon:{<seller>/<name>}:holders  set of usernames
KEYS[3]  coupon:{<seller>/<name>}:outbox   hash of pending grabs (cleared: MySQL is the truth here)
KEYS[4]  coupon:{<seller>/<name>}:stats    hash: outcome -> answers counted (kept when present; when
                                           lost, `granted` starts again from amount - left)
ARGV[1]  id
ARGV[2]  amount
ARGV[3]  left
ARGV[4]  stock
ARGV[5]  description
ARGV[6]  paused: "1" or "0"
ARGV[7]  startsAt, epoch ms, or "" for none
ARGV[8]  endsAt, epoch ms, or "" for none
ARGV[9..] usernames holding the coupon

Returns 1
]]
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'amount', ARGV[2], 'left', ARGV[3], 'stock', ARGV[4],
  'description', ARGV[5], 'paused', ARGV[6], 'startsAt', ARGV[7], 'endsAt', ARGV[8])
if redis.call('EXISTS', KEYS[4]) == 0 then
  redis.call('HSET', KEYS[4], 'granted', tonumber(ARGV[2]) - tonumber(ARGV[3]))
end
local batch = {}
for i = 9, #ARGV do
  batch[#batch + 1] = ARGV[i]
  if #batch == 1000 then
    redis.call('SADD', KEYS[2], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then
  redis.call('SADD', KEYS[2], unpack(batch))
end
return 1
