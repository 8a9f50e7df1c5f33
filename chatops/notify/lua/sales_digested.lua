-- sales_digested: record that one digest period of a lottery's sales was summarised, under the
-- leader's fence: its tally leaves the hash for the history list (kept to a fixed length).
-- KEYS[1] WATCHER_FENCE, KEYS[2] the lottery's tally hash, KEYS[3] its history list, KEYS[4] its
--   digested marker
-- ARGV[1] fence, ARGV[2] the period (bucket), ARGV[3] tickets in it, ARGV[4] history length
-- Returns 1, or -1 on a stale fence (nothing written).
if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return -1 end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
redis.call('SET', KEYS[4], ARGV[2])
return 1
