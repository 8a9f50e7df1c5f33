-- incident_alerts: add or remove an alert still raised in an incident (it resolves when none is left).
-- KEYS[1] the incident's alerts set
-- ARGV[1] 'add' or 'remove', ARGV[2] member ("<alert>|<subject>")
-- Returns the number of alerts left in the set.
if ARGV[1] == 'add' then redis.call('SADD', KEYS[1], ARGV[2]) else redis.call('SREM', KEYS[1], ARGV[2]) end
return redis.call('SCARD', KEYS[1])
