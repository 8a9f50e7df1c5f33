-- resolve: reconciliation's verdict from the chain. ARGV[3] 'succeeded' or 'failed', ARGV[4]
-- result text, ARGV[5] comma-separated transaction hashes. Returns {'ok', state} or {'state', state}.
if field('state') ~= 'needs-reconciliation' then return {'state', field('state')} end
if ARGV[3] ~= 'succeeded' and ARGV[3] ~= 'failed' then return redis.error_reply('bad outcome') end
hset('result', ARGV[4], 'tx_hashes', ARGV[5])
set_state(ARGV[3], 'reconciled', ARGV[4])
return {'ok', ARGV[3]}
