-- incident_append: add one line to an incident's timeline, at most once per ref.
-- KEYS[1] the incident's seen set, KEYS[2] its timeline stream, KEYS[3] its hash
-- ARGV[1] ref, ARGV[2] at_s, ARGV[3] kind, ARGV[4] text, ARGV[5] by
-- Returns 1 when appended, 0 when this ref is already on the timeline, -1 when the incident is unknown.
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'at_s', ARGV[2], 'kind', ARGV[3], 'text', ARGV[4], 'by', ARGV[5],
  'ref', ARGV[1])
redis.call('HSET', KEYS[3], 'updated_at_s', ARGV[2])
return 1
