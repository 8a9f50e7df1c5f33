-- cancel: the requester withdraws a request that has not started executing; final.
-- Returns {'ok', 'cancelled'} or {error, state}.
if redis.call('EXISTS', req) == 0 then return {'not_found', ''} end
if actor ~= field('requester') then return {'not_requester', field('state')} end
if expire_if_due() then return {'expired', 'expired'} end
local state = field('state')
if state ~= 'pending' and state ~= 'approved' then return {'state', state} end
redis.call('ZREM', pending, field('id'))
set_state('cancelled', 'cancelled', '')
return {'ok', 'cancelled'}
