-- cancel: the requester withdraws a request that has not started executing; final.
-- Returns {'ok', 'cancelled', 0, request hash (flat)} or an error word.
local gone = missing()
if gone then return gone end
if actor ~= field('requester') then return reply('not_requester', field('state')) end
if expire_if_due() then return reply('expired', 'expired') end
local state = field('state')
if state ~= 'pending' and state ~= 'approved' then return with_request('state', state, 0) end
redis.call('ZREM', pending, wanted)
set_state('cancelled', 'cancelled', '')
return with_request('ok', 'cancelled', 0)
