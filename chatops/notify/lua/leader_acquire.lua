-- leader_acquire: take or renew the watcher's leader lease; a new holder gets a higher fencing token.
-- KEYS[1] WATCHER_LEASE (string "owner|fence" with a PX ttl), KEYS[2] WATCHER_FENCE (INCR counter)
-- ARGV[1] owner, ARGV[2] ttl_ms
-- Returns the fence token held by the owner (a new, higher one if the lease was free), or 0 when
-- another owner holds it.
local held = redis.call('GET', KEYS[1])
if held then
  local sep = string.find(held, '|', 1, true)
  if string.sub(held, 1, sep - 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(held, sep + 1))
  end
  return 0
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
return fence
