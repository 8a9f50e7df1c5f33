-- renew: extend the lease of the worker that holds it (long procedures renew between calls).
-- ARGV[3] lease token, ARGV[4] lease length in ms. Returns {'ok', state} or {'lease', state}.
if field('state') ~= 'executing' or field('lease_owner') ~= ARGV[3] then return {'lease', field('state')} end
local lease_expires = now_ms + tonumber(ARGV[4])
hset('lease_expires_ms', tostring(lease_expires))
redis.call('ZADD', executing, lease_expires, field('id'))
return {'ok', 'executing'}
