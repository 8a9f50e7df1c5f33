-- outbox_finish: record the outcome of the items of one message (one item, or every item of a
-- digest: all of them or none), then XACK and XDEL them, so none is ever sent again; reschedule or
-- retire the channel.
-- KEYS[1] the channel's stream, KEYS[2] OUTBOX_CHANNELS zset, KEYS[3] the channel's next-allowed key,
-- KEYS[4] parent hash of the incident (or any key), KEYS[5..] the items' hashes
-- ARGV[1] state ('sent' | 'failed'), ARGV[2] ts ('' when failed), ARGV[3] channel the message is in,
-- ARGV[4] error text, ARGV[5] now_ms, ARGV[6] retain_ms, ARGV[7] '1' when the (single) item posts an
-- incident's parent message, ARGV[8] the queue's channel, ARGV[9] interval_ms: the next send waits
-- that long after this call ended (not only after it started), so scheduling jitter between the
-- slot and the call can never bring two calls closer,
-- ARGV[10..] the items' stream entry ids, in the order of KEYS[5..]
-- Returns how many items were recorded now; an item already final (a second sender) keeps its record.
local recorded = 0
for i = 5, #KEYS do
  local state = redis.call('HGET', KEYS[i], 'state')
  if state ~= 'sent' and state ~= 'failed' then
    redis.call('HSET', KEYS[i], 'state', ARGV[1], 'ts', ARGV[2], 'posted_channel', ARGV[3],
               'error', ARGV[4], 'done_ms', ARGV[5])
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[6]))
    if ARGV[7] == '1' then
      redis.call('HSET', KEYS[4], 'state', ARGV[1], 'channel', ARGV[3], 'ts', ARGV[2])
    end
    recorded = recorded + 1
  end
  redis.call('XACK', KEYS[1], 'outbox', ARGV[10 + i - 5])
  redis.call('XDEL', KEYS[1], ARGV[10 + i - 5])
end
local interval_ms = tonumber(ARGV[9])
local now_ms = tonumber(ARGV[5])
if interval_ms > 0 then
  local after_ms = now_ms + interval_ms
  if after_ms > tonumber(redis.call('GET', KEYS[3]) or '0') then
    redis.call('SET', KEYS[3], tostring(after_ms), 'PX', interval_ms + 60000)
  end
end
if redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[8])
else
  local next_ms = tonumber(redis.call('GET', KEYS[3]) or '0')
  if next_ms < now_ms then next_ms = now_ms end
  redis.call('ZADD', KEYS[2], next_ms, ARGV[8])
end
return recorded
