-- outbox_reserve: take the channel's next send slot (1 per interval) if it is due.
-- KEYS[1] the channel's next-allowed key, KEYS[2] OUTBOX_CHANNELS zset
-- ARGV[1] now_ms, ARGV[2] interval_ms, ARGV[3] channel
-- Returns 0 when the slot is taken (the next one is now + interval), else the ms it is due at
-- (the channel is rescheduled for then).
local now_ms = tonumber(ARGV[1])
local next_ms = tonumber(redis.call('GET', KEYS[1]) or '0')
if next_ms > now_ms then
  redis.call('ZADD', KEYS[2], 'XX', next_ms, ARGV[3])
  return next_ms
end
redis.call('SET', KEYS[1], tostring(now_ms + tonumber(ARGV[2])), 'PX', tonumber(ARGV[2]) + 60000)
return 0
