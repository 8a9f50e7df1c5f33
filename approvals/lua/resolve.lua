-- resolve: reconciliation's verdict from the chain. ARGV[4] 'succeeded' or 'failed', ARGV[5]
-- result text, ARGV[6] comma-separated transaction hashes.
-- Returns {'ok', state, 0, request hash (flat)} or {'state', state} / an error word.
local gone = missing()
if gone then return gone end
if field('state') ~= 'needs-reconciliation' then return reply('state', field('state')) end
if ARGV[4] ~= 'succeeded' and ARGV[4] ~= 'failed' then return redis.error_reply('bad outcome') end
hset('result', ARGV[5], 'tx_hashes', ARGV[6])
set_state(ARGV[4], 'reconciled', ARGV[5])
return with_request('ok', ARGV[4], 0)
