-- watcher_commit: commit handed-on events (seen members, purchase tallies) and a type's cursor, under
-- the leader's fence.
-- KEYS[1] WATCHER_FENCE, KEYS[2] the type's seen zset, KEYS[3] the type's cursor, KEYS[4]
--   SALES_LOTTERIES set, KEYS[5..] the tally hashes named by the events below
-- ARGV[1] fence, ARGV[2] new cursor ('' keeps it), then six per event: member, height, index in KEYS
--   of its tally hash (0 = no tally), tally field, quantity, lottery id
-- Returns how many of the members it committed (one committed before counts 0), or -1 on a stale
-- fence (nothing written).
if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return -1 end
local committed = 0
for i = 3, #ARGV, 6 do
  if not redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i])
    committed = committed + 1
    local tally = tonumber(ARGV[i + 2])
    if tally > 0 then
      redis.call('HINCRBY', KEYS[tally], ARGV[i + 3], ARGV[i + 4])
      redis.call('SADD', KEYS[4], ARGV[i + 5])
    end
  end
end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[3], ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
end
return committed
