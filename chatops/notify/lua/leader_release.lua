-- leader_release: drop the watcher's leader lease if this holder still has it.
-- KEYS[1] WATCHER_LEASE
-- ARGV[1] "owner|fence" as the holder took it
-- Returns 1 when released, 0 when it had expired or belongs to another holder.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
