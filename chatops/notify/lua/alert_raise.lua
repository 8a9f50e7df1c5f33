-- alert_raise: mark an alert active, once: a raised alert keeps its number until it resolves.
-- KEYS[1] ALERTS_ACTIVE hash, KEYS[2] the alert's raise counter, KEYS[3] ALERTS_PENDING hash (declared only)
-- ARGV[1] member ("<alert>|<subject>"), ARGV[2] at_s, ARGV[3] payload JSON (raised_at_s, title, severity)
-- Returns {n, created}: the raise number of the active alert (a new one if it was not active), and 1
-- when it was raised now.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then return {cjson.decode(current)['n'], 0} end
local n = redis.call('INCR', KEYS[2])
local payload = cjson.decode(ARGV[3])
payload['n'] = n
payload['emitted'] = false
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(payload))
return {n, 1}
