-- incident_set_state: move an incident to a new state. A resolved incident is final; resolving frees
-- the subject for a new incident.
-- KEYS[1] the incident's hash, KEYS[2] INCIDENTS_OPEN hash, KEYS[3] its timeline stream,
-- KEYS[4] INCIDENTS_RESOLVED zset (id -> resolved at_s: what retention may delete, oldest first)
-- ARGV[1] new state, ARGV[2] at_s, ARGV[3] by, ARGV[4] note (': text', or '')
-- Returns the previous state, '' when the incident is unknown, '=' when unchanged.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return '' end
if state == ARGV[1] then return '=' end
if state == 'resolved' then return 'resolved' end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'updated_at_s', ARGV[2])
local subject = redis.call('HGET', KEYS[1], 'subject')
local id = redis.call('HGET', KEYS[1], 'id')
if ARGV[1] == 'resolved' then
  if redis.call('HGET', KEYS[2], subject) == id then redis.call('HDEL', KEYS[2], subject) end
  redis.call('ZADD', KEYS[4], ARGV[2], id)
end
redis.call('XADD', KEYS[3], '*', 'at_s', ARGV[2], 'kind', 'state', 'text', ARGV[1] .. ARGV[4],
  'by', ARGV[3], 'ref', 'state:' .. ARGV[1])
return state
