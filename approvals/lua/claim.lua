-- claim: take an approved request for execution under a lease; exactly one claimant ever wins.
-- (The last approval usually claims in its own step; this is for a request left approved.)
-- ARGV[4] lease token (unique per worker attempt), ARGV[5] lease length in ms.
-- Returns {'ok', 'executing', 0, request hash (flat)} or {'claimed', state} / an error word.
local gone = missing()
if gone then return gone end
if field('state') ~= 'approved' then return reply('claimed', field('state')) end
local lease_expires = now() + tonumber(ARGV[5])
hset('lease_owner', ARGV[4], 'lease_expires_ms', tostring(lease_expires))
redis.call('ZADD', executing, lease_expires, wanted)
set_state('executing', 'claimed', string.match(ARGV[4], '^[^:]*'))
return with_request('ok', 'executing', 0)
