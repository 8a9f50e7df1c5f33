-- chain_claim: the outside approver (an on-chain multisig account) says the request's proposals
-- can run: take it for execution under a lease; exactly one claimant ever wins. The approvals
-- recorded here play no part: a pending request is taken as well as one in state approved, and
-- only a request with proposals is taken here.
-- ARGV[4] lease token, ARGV[5] lease length in ms, ARGV[6] who approved outside (comma-separated;
-- '' keeps the approvers), recorded as the request's approvers.
-- Returns {'ok', 'executing', 0, request hash (flat)}, {'claimed', state} or {'state', state}.
local gone = missing()
if gone then return gone end
local state = field('state')
if field('proposals') == '' then return reply('state', state) end
if state ~= 'pending' and state ~= 'approved' then return reply('claimed', state) end
local lease_expires = now() + tonumber(ARGV[5])
redis.call('ZREM', pending, wanted)
hset('lease_owner', ARGV[4], 'lease_expires_ms', tostring(lease_expires))
if ARGV[6] ~= '' then hset('approvers', ARGV[6]) end
redis.call('ZADD', executing, lease_expires, wanted)
set_state('executing', 'chain-approved', string.match(ARGV[4], '^[^:]*'))
return with_request('ok', 'executing', 0)
