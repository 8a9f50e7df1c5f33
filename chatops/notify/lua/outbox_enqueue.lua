-- outbox_enqueue: queue items, each unless the same (notice id, target) is already known.
-- KEYS[1] OUTBOX_CHANNELS zset, then four per item: its item hash (chatops:outbox-item:<id>), its
--   channel's stream, its channel's next-allowed key, and the parent hash of its incident
--   (chatops:outbox-parent:<incident>; written when its parent_of ~= '')
-- ARGV[1] now_ms, then seven per item, in the order of KEYS: item id, channel, op, notice JSON,
--   thread_of, parent_of, update_of ('' when not set)
-- Returns how many items were queued; an item already known changes nothing.
local now_ms = tonumber(ARGV[1])
local queued = 0
local grouped = {}
for i = 0, (#KEYS - 1) / 4 - 1 do
  local item, stream, next_key, parent = KEYS[2 + i * 4], KEYS[3 + i * 4], KEYS[4 + i * 4], KEYS[5 + i * 4]
  local a = 1 + i * 7
  local id, channel, parent_of = ARGV[a + 1], ARGV[a + 2], ARGV[a + 6]
  if redis.call('EXISTS', item) == 0 then
    redis.call('HSET', item, 'op', ARGV[a + 3], 'channel', channel, 'notice', ARGV[a + 4],
      'thread_of', ARGV[a + 5], 'parent_of', parent_of, 'update_of', ARGV[a + 7],
      'state', 'queued', 'enqueued_ms', ARGV[1])
    redis.call('XADD', stream, '*', 'item', id)
    if not grouped[stream] then
      -- The group starts at 0 so it sees the entry just added; it exists after the first item.
      redis.pcall('XGROUP', 'CREATE', stream, 'outbox', '0')
      grouped[stream] = true
    end
    if parent_of ~= '' then
      redis.call('HSETNX', parent, 'item', id)
    end
    local next_ms = tonumber(redis.call('GET', next_key) or '0')
    if next_ms < now_ms then next_ms = now_ms end
    redis.call('ZADD', KEYS[1], 'NX', next_ms, channel)
    queued = queued + 1
  end
end
return queued
