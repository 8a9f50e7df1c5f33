-- outbox_release: drop the channel's sender lease if it is still ours.
-- KEYS[1] the channel's lease key
-- ARGV[1] our lease token
-- Returns 1 when released, 0 when it had expired or belongs to another worker.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
