-- deny: an approver refuses; final. ARGV[3] the reason. The requester cancels instead.
-- Returns {'ok', 'denied'} or {error, state}.
if redis.call('EXISTS', req) == 0 then return {'not_found', ''} end
if actor == field('requester') then return {'self', field('state')} end
if expire_if_due() then return {'expired', 'expired'} end
if field('state') ~= 'pending' then return {'state', field('state')} end
redis.call('ZREM', pending, field('id'))
hset('denied_by', actor, 'result', ARGV[3])
set_state('denied', 'denied', ARGV[3])
return {'ok', 'denied'}
