-- renew: extend the lease of the worker that holds it (long procedures renew between calls).
-- ARGV[4] lease token, ARGV[5] lease length in ms. Returns {'ok', state} or {'lease', state}.
local gone = missing()
if gone then return gone end
if field('state') ~= 'executing' or field('lease_owner') ~= ARGV[4] then return reply('lease', field('state')) end
local lease_expires = now() + tonumber(ARGV[5])
hset('lease_expires_ms', tostring(lease_expires))
redis.call('ZADD', executing, lease_expires, wanted)
return reply('ok', 'executing')
