-- incident_open: the open incident of a subject, or a new one (one open incident per subject).
-- KEYS[1] INCIDENT_SEQUENCE, KEYS[2] INCIDENTS_OPEN hash, KEYS[3] INCIDENTS_ALL zset
-- ARGV[1] subject, ARGV[2] channel, ARGV[3] title, ARGV[4] severity, ARGV[5] at_s, ARGV[6] opened_by,
--   ARGV[7] the incident key prefix (the id is appended)
-- Returns {id, created}: created is 1 when the incident was opened now, 0 when it was open already.
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {existing, 0} end
local id = tostring(redis.call('INCR', KEYS[1]))
local key = ARGV[7] .. id
redis.call('HSET', key, 'id', id, 'subject', ARGV[1], 'state', 'open', 'owner', '',
  'channel', ARGV[2], 'title', ARGV[3], 'severity', ARGV[4], 'opened_at_s', ARGV[5],
  'opened_by', ARGV[6], 'updated_at_s', ARGV[5])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('ZADD', KEYS[3], ARGV[5], id)
redis.call('XADD', key .. ':timeline', '*', 'at_s', ARGV[5], 'kind', 'state', 'text', 'opened: ' .. ARGV[3],
  'by', ARGV[6], 'ref', 'state:open')
return {id, 1}
