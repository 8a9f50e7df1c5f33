-- complete: the lease holder records the outcome. ARGV[3] lease token, ARGV[4] 'succeeded' or
-- 'failed', ARGV[5] result text, ARGV[6] comma-separated transaction hashes.
-- Returns {'ok', state} or {'lease', state} when the lease was lost (then reconciliation decides).
if field('state') ~= 'executing' or field('lease_owner') ~= ARGV[3] then return {'lease', field('state')} end
if ARGV[4] ~= 'succeeded' and ARGV[4] ~= 'failed' then return redis.error_reply('bad outcome') end
redis.call('ZREM', executing, field('id'))
hset('result', ARGV[5], 'tx_hashes', ARGV[6])
set_state(ARGV[4], ARGV[4], ARGV[5])
return {'ok', ARGV[4]}
