-- outbox_defer: try the channel's head item (or the items of its digest) again later (429
-- Retry-After, outage back-off, a thread not yet posted); the items stay pending and in front of the
-- channel's queue.
-- KEYS[1] the channel's next-allowed key, KEYS[2] OUTBOX_CHANNELS zset, KEYS[3..] the items' hashes
-- ARGV[1] channel, ARGV[2] ms to wait until, ARGV[3] '1' to push the channel's next-allowed time
-- too (the chat asked to wait), ARGV[4] item state to set ('queued' or 'posting'), ARGV[5] error text,
-- ARGV[6] '1' to dissolve the items' digest (nothing was posted: they are queued items again, free
-- to be coalesced anew); otherwise a digest in doubt keeps its id and members for the lookup;
-- ARGV[7] '1' to mark the items to be posted alone from now on (their digest was refused)
-- Returns the ms the channel will be tried at.
local until_ms = tonumber(ARGV[2])
if ARGV[3] == '1' then
  local next_ms = tonumber(redis.call('GET', KEYS[1]) or '0')
  if until_ms > next_ms then
    redis.call('SET', KEYS[1], tostring(until_ms), 'PX', until_ms - next_ms + 60000)
  end
end
for i = 3, #KEYS do
  redis.call('HSET', KEYS[i], 'state', ARGV[4], 'error', ARGV[5])
  redis.call('HINCRBY', KEYS[i], 'attempts', 1)
  if ARGV[6] == '1' then
    redis.call('HDEL', KEYS[i], 'digest', 'digest_items', 'digest_entries', 'digest_channel')
  end
  if ARGV[7] == '1' then redis.call('HSET', KEYS[i], 'alone', '1') end
end
redis.call('ZADD', KEYS[2], until_ms, ARGV[1])
return until_ms
