-- submitting: record the sender and the sequence number about to be used, before anything is sent,
-- so a lost worker's transaction can be found on chain. ARGV[3] lease token, ARGV[4] sender,
-- ARGV[5] sequence number. Returns {'ok', 'executing'} or {'lease', state}.
if field('state') ~= 'executing' or field('lease_owner') ~= ARGV[3] then return {'lease', field('state')} end
hset('sender', ARGV[4], 'submit_seq', ARGV[5])
audit('submitting', 'executing', ARGV[4] .. '#' .. ARGV[5])
return {'ok', 'executing'}
