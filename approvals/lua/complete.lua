-- complete: the lease holder records the outcome. ARGV[4] lease token, ARGV[5] 'succeeded' or
-- 'failed', ARGV[6] result text, ARGV[7] comma-separated transaction hashes.
-- Returns {'ok', state, 0, request hash (flat)} or {'lease', state} when the lease was lost (then
-- reconciliation decides).
local gone = missing()
if gone then return gone end
if field('state') ~= 'executing' or field('lease_owner') ~= ARGV[4] then return reply('lease', field('state')) end
if ARGV[5] ~= 'succeeded' and ARGV[5] ~= 'failed' then return redis.error_reply('bad outcome') end
redis.call('ZREM', executing, wanted)
hset('result', ARGV[6], 'tx_hashes', ARGV[7])
set_state(ARGV[5], ARGV[5], ARGV[6])
return with_request('ok', ARGV[5], 0)
