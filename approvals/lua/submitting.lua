-- submitting: the fence before each transaction of the request is sent. In one step: check that
-- this worker still holds the lease, record the transaction (sequence number -> expires_s) in the
-- submissions hash (KEYS[8], kept for ARGV[8] seconds after its latest write), extend the lease by
-- ARGV[7] ms from now and audit it. The first call also stores the sender and its sequence number
-- on the request (sender, submit_seq), where reconciliation starts. A worker whose lease is gone
-- records nothing, so reconciliation never waits for a transaction that was never sent.
-- The numbers are opaque here (approvals knows no chain); the caller sends the transaction only
-- after 'ok'. ARGV[3] lease token, ARGV[4] sender, ARGV[5] sequence number, ARGV[6] expires_s,
-- ARGV[7] lease length in ms, ARGV[8] retention of the submissions hash in seconds.
-- Returns {'ok', 'executing'} or {'lease', state} (nothing written).
if field('state') ~= 'executing' or field('lease_owner') ~= ARGV[3] then return {'lease', field('state')} end
redis.call('HSET', submissions, ARGV[5], ARGV[6])
redis.call('EXPIRE', submissions, tonumber(ARGV[8]))
local lease_expires = now_ms + tonumber(ARGV[7])
if field('submit_seq') == '' then
  hset('sender', ARGV[4], 'submit_seq', ARGV[5], 'lease_expires_ms', tostring(lease_expires))
else
  hset('lease_expires_ms', tostring(lease_expires))
end
redis.call('ZADD', executing, lease_expires, field('id'))
audit('submitting', 'executing', ARGV[4] .. '#' .. ARGV[5] .. ' expires_s=' .. ARGV[6])
return {'ok', 'executing'}
