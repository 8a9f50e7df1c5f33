-- deny: an approver refuses what they were shown; final. ARGV[4] the calls' digest they saw (''
-- when shown only the id), ARGV[5] the reason. The requester cancels instead.
-- Returns {'ok', 'denied', 0, request hash (flat)} or an error word ('stale' with the request).
local gone = missing()
if gone then return gone end
if actor == field('requester') then return reply('self', field('state')) end
if ARGV[4] ~= '' and ARGV[4] ~= field('digest') then return with_request('digest', field('state'), 0) end
if expire_if_due() then return reply('expired', 'expired') end
if field('state') ~= 'pending' then return with_request('state', field('state'), 0) end
redis.call('ZREM', pending, wanted)
hset('denied_by', actor, 'result', ARGV[5])
set_state('denied', 'denied', ARGV[5])
return with_request('ok', 'denied', 0)
