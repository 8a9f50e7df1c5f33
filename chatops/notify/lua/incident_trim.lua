-- incident_trim: delete one resolved incident (retention): its hash, timeline, seen notices, alerts,
-- thread records and the outbox's record of its parent message.
-- KEYS[1] INCIDENTS_RESOLVED zset, KEYS[2] INCIDENTS_ALL zset, KEYS[3] its hash, KEYS[4] its
-- timeline, KEYS[5] its seen set, KEYS[6] its alerts set, KEYS[7] its thread hash, KEYS[8] its
-- outbox parent hash, KEYS[9] its by-thread key (chatops:incident:thread:<channel>:<ts>, or any key)
-- ARGV[1] the incident id, ARGV[2] cutoff at_s
-- Returns 1 when deleted, 0 when it is not resolved before the cutoff (it only leaves KEYS[1] if
-- it is not resolved at all).
local id = ARGV[1]
local resolved = redis.call('ZSCORE', KEYS[1], id)
if not resolved or tonumber(resolved) >= tonumber(ARGV[2]) then return 0 end
if redis.call('HGET', KEYS[3], 'state') ~= 'resolved' then
  redis.call('ZREM', KEYS[1], id)
  return 0
end
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
redis.call('ZREM', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
return 1
