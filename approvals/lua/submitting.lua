-- submitting: the fence before each transaction of the request is sent. In one step: check that
-- this worker still holds the lease, record the transaction (field 'sub:<sequence number>' =
-- expires_s), extend the lease by ARGV[8] ms from now and audit it. The first call also stores the
-- sender and its sequence number (sender, submit_seq), where reconciliation starts. A worker whose
-- lease is gone records nothing, so reconciliation never waits for a transaction never sent.
-- The numbers are opaque here (approvals knows no chain); the caller sends the transaction only
-- after 'ok'. ARGV[4] lease token, ARGV[5] sender, ARGV[6] sequence number, ARGV[7] expires_s,
-- ARGV[8] lease length in ms. Returns {'ok', 'executing'} or {'lease', state} (nothing written).
local gone = missing()
if gone then return gone end
if field('state') ~= 'executing' or field('lease_owner') ~= ARGV[4] then return reply('lease', field('state')) end
local lease_expires = now() + tonumber(ARGV[8])
hset('sub:' .. ARGV[6], ARGV[7], 'lease_expires_ms', tostring(lease_expires))
if field('submit_seq') == '' then hset('sender', ARGV[5], 'submit_seq', ARGV[6]) end
redis.call('ZADD', executing, lease_expires, wanted)
audit('submitting', 'executing', ARGV[5] .. '#' .. ARGV[6] .. ' expires_s=' .. ARGV[7])
return reply('ok', 'executing')
