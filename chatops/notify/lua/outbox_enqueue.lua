-- outbox_enqueue: queue one item unless the same (notice id, target) is already known.
-- KEYS[1] item hash (chatops:outbox-item:<id>)   KEYS[2] the channel's stream
-- KEYS[3] OUTBOX_CHANNELS zset                   KEYS[4] the channel's next-allowed key
-- KEYS[5] parent hash of the incident (chatops:outbox-parent:<incident>; written when ARGV[5] ~= '')
-- ARGV[1] item id, ARGV[2] channel, ARGV[3] JSON object of the item's string fields,
-- ARGV[4] now_ms, ARGV[5] incident id whose parent message this item posts ('' if none)
-- Returns 1 when queued, 0 when the item was already known (nothing changes).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = cjson.decode(ARGV[3])
for name, value in pairs(fields) do redis.call('HSET', KEYS[1], name, tostring(value)) end
redis.call('HSET', KEYS[1], 'state', 'queued', 'enqueued_ms', ARGV[4])
redis.call('XADD', KEYS[2], '*', 'item', ARGV[1])
-- The group starts at 0 so it sees the entry just added; it already exists after the first item.
redis.pcall('XGROUP', 'CREATE', KEYS[2], 'outbox', '0')
if ARGV[5] ~= '' then
  redis.call('HSETNX', KEYS[5], 'item', ARGV[1])
end
local next_ms = tonumber(redis.call('GET', KEYS[4]) or '0')
local now_ms = tonumber(ARGV[4])
if next_ms < now_ms then next_ms = now_ms end
redis.call('ZADD', KEYS[3], 'NX', next_ms, ARGV[2])
return 1
