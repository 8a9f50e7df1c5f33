-- proposed: the request's calls stand as proposals of an outside approver (an on-chain multisig
-- account), whose references approvals keeps as given, opaque. ARGV[4] the audit event, ARGV[5]
-- the references (one comma-separated text), ARGV[6] ms from now until the request expires ('' keeps
-- its expiry), ARGV[7] '' while the proposals stand, else the final state ('failed' or 'expired') of
-- a request whose proposals can never run (not all could be made, or they were removed outside),
-- with ARGV[8] as its result (else ARGV[8] is what the audit entry says of the proposals). KEYS[8]
-- the index hash (key -> request id), after the prelude's seven; ARGV[9..] the keys the request is
-- found by (the proposals' numbers, as the caller gives them). Only a pending (or
-- approved) request takes them.
-- Returns {'ok', state, 0, request hash (flat)}, {'expired', 'expired'} or {'state', state, 0,
-- request hash (flat)} / an error word.
local gone = missing()
if gone then return gone end
if ARGV[7] ~= '' and ARGV[7] ~= 'failed' and ARGV[7] ~= 'expired' then
  return redis.error_reply('bad outcome')
end
if ARGV[7] == '' and expire_if_due() then return reply('expired', 'expired') end
local state = field('state')
if state ~= 'pending' and state ~= 'approved' then return with_request('state', state, 0) end
hset('proposals', ARGV[5])
for i = 9, #ARGV do redis.call('HSET', KEYS[8], ARGV[i], wanted) end
if ARGV[7] ~= '' then
  redis.call('ZREM', pending, wanted)
  hset('result', ARGV[8])
  set_state(ARGV[7], ARGV[4], ARGV[8])
  return with_request('ok', ARGV[7], 0)
end
if ARGV[6] ~= '' then
  local expires = now() + tonumber(ARGV[6])
  hset('expires_ms', tostring(expires))
  if state == 'pending' then redis.call('ZADD', pending, expires, wanted) end
end
audit(ARGV[4], state, ARGV[8])
return with_request('ok', state, 0)
