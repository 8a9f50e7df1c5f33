-- claim: take the approved request for execution under a lease; exactly one claimant ever wins.
-- ARGV[3] lease token (unique per worker attempt), ARGV[4] lease length in ms.
-- Returns {'ok', 'executing'} or {'claimed', state} / {'not_found', ''}.
if redis.call('EXISTS', req) == 0 then return {'not_found', ''} end
if field('state') ~= 'approved' then return {'claimed', field('state')} end
local lease_expires = now_ms + tonumber(ARGV[4])
hset('lease_owner', ARGV[3], 'lease_expires_ms', tostring(lease_expires))
redis.call('ZADD', executing, lease_expires, field('id'))
set_state('executing', 'claimed', ARGV[3])
return {'ok', 'executing'}
