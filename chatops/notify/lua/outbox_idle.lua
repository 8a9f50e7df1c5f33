-- outbox_idle: retire a channel whose queue is empty (an enqueue racing this adds it back).
-- KEYS[1] the channel's stream, KEYS[2] OUTBOX_CHANNELS zset
-- ARGV[1] channel
-- Returns 1 when retired, 0 when items arrived meanwhile.
if redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
return 0
