-- create: store a new request under the whole id ARGV[3] and number ARGV[4]. ARGV[5] '1' for
-- break-glass (it then starts approved by its requester alone), ARGV[6] its time to live in ms
-- (expires_ms is now + ttl, on the clock that later decides expiry). ARGV[7] '1' to take the
-- number from KEYS[5] here, only if it is exactly the next one (else 'taken' with the last number
-- taken, and nothing written), '0' when the caller took it already. ARGV[8..] the request's other
-- fields as name, value pairs (command, calls, digest, requester, ...).
-- One open request per set of calls: while one with the same digest is pending, approved,
-- executing or awaiting reconciliation, a second is refused ('duplicate', with the first's id).
-- Returns {'ok', state, 0, the fields set here (flat)} (the caller has the rest), or
-- {'duplicate', '', 0, id of the open one}, {'exists', state} or {'taken', '', last number}.
local number = ARGV[4]
if ARGV[7] == '1' then
  local last = tonumber(redis.call('SET', KEYS[5], number, 'GET') or '0')
  if tonumber(number) ~= last + 1 then
    redis.call('SET', KEYS[5], tostring(last))  -- not the next one: leave the count as it was
    return {'taken', '', last}
  end
end
if redis.call('EXISTS', req) == 1 then return {'exists', redis.call('HGET', req, 'state')} end
local fields = {unpack(ARGV, 8)}
hset(unpack(fields))
if redis.call('HSETNX', open_calls, field('digest'), wanted) == 0 then
  return {'duplicate', '', 0, redis.call('HGET', open_calls, field('digest'))}
end
local state = ARGV[5] == '1' and 'approved' or 'pending'
local expires_ms = tostring(now() + tonumber(ARGV[6]))
local set_here = {'id', wanted, 'created_ms', tostring(now()), 'break_glass', ARGV[5],
                  'expires_ms', expires_ms, 'state', state, 'holds_calls', '1'}
hset(unpack(set_here))
if state == 'pending' then
  redis.call('ZADD', pending, tonumber(expires_ms), wanted)
  audit('created', state, field('reason'))
else
  audit('created-break-glass', state, field('reason'))
end
flush()
set_here[#set_here + 1] = 'history'
set_here[#set_here + 1] = field('history')
return {'ok', state, 0, set_here}
