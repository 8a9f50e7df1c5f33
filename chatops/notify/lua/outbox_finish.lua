-- outbox_finish: record the outcome of an item (sent with its ts, or failed for good), then XACK
-- and XDEL it, so it is never sent again; reschedule or retire the channel.
-- KEYS[1] item hash, KEYS[2] the channel's stream, KEYS[3] OUTBOX_CHANNELS zset,
-- KEYS[4] the channel's next-allowed key, KEYS[5] parent hash of the incident (or any key)
-- ARGV[1] stream entry id, ARGV[2] state ('sent' | 'failed'), ARGV[3] ts ('' when failed),
-- ARGV[4] channel the message is in, ARGV[5] error text, ARGV[6] now_ms, ARGV[7] retain_ms,
-- ARGV[8] '1' when the item posts an incident's parent message, ARGV[9] the queue's channel,
-- ARGV[10] interval_ms: the next send waits that long after this call ended (not only after it
-- started), so scheduling jitter between the slot and the call can never bring two calls closer
-- Returns 1 when recorded now, 0 when the item was already final (a second sender; nothing changes).
local state = redis.call('HGET', KEYS[1], 'state')
local recorded = 0
if state ~= 'sent' and state ~= 'failed' then
  redis.call('HSET', KEYS[1], 'state', ARGV[2], 'ts', ARGV[3], 'posted_channel', ARGV[4],
             'error', ARGV[5], 'done_ms', ARGV[6])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[7]))
  if ARGV[8] == '1' then
    redis.call('HSET', KEYS[5], 'state', ARGV[2], 'channel', ARGV[4], 'ts', ARGV[3])
  end
  recorded = 1
end
local interval_ms = tonumber(ARGV[10])
if interval_ms > 0 then
  local after_ms = tonumber(ARGV[6]) + interval_ms
  if after_ms > tonumber(redis.call('GET', KEYS[4]) or '0') then
    redis.call('SET', KEYS[4], tostring(after_ms), 'PX', interval_ms + 60000)
  end
end
redis.call('XACK', KEYS[2], 'outbox', ARGV[1])
redis.call('XDEL', KEYS[2], ARGV[1])
if redis.call('XLEN', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[9])
else
  local next_ms = tonumber(redis.call('GET', KEYS[4]) or '0')
  local now_ms = tonumber(ARGV[6])
  if next_ms < now_ms then next_ms = now_ms end
  redis.call('ZADD', KEYS[3], next_ms, ARGV[9])
end
return recorded
