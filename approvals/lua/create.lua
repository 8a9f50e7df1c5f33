-- create: store a new request. ARGV[3] '1' for break-glass (then it starts approved by one person),
-- ARGV[4] the time to live in ms: expires_ms is now_ms + ttl, on the same clock that later decides
-- expiry. ARGV[5] '1' to take the id (ARGV[6]) from the sequence here (KEYS[7], the INCR counter
-- of request ids), only if it is exactly the next one, so ids stay unique whoever allocates them;
-- '0' when the caller already took it with INCR. ARGV[7..] the request's other string fields as
-- name, value pairs (command, calls, digest, requester, ...); id, created_ms, break_glass,
-- expires_ms and state are set here, over any given. The whole hash is written by one HSET.
-- Returns {'ok', state, 0, the fields set here (flat), approvers (none yet)}: the caller has the
-- rest, so the request is not sent back whole. Or {'exists', state}, or, when the id is no longer
-- the next one, {'taken', '', last id taken} (nothing written).
local id = ARGV[6]
if ARGV[5] == '1' then
  local last = tonumber(redis.call('GET', KEYS[7]) or '0')
  if tonumber(id) ~= last + 1 then return {'taken', '', last} end
  redis.call('SET', KEYS[7], id)  -- taken even if the create fails below, as INCR would
end
if redis.call('EXISTS', req) == 1 then return {'exists', field('state')} end
complete = true  -- the hash is new: after the HSET below, the cache holds all of it
local state = ARGV[3] == '1' and 'approved' or 'pending'
local expires_ms = tostring(now_ms + tonumber(ARGV[4]))
local set_here = {'id', id, 'created_ms', tostring(now_ms), 'break_glass', ARGV[3],
                  'expires_ms', expires_ms, 'state', state}
local fields = {unpack(ARGV, 7)}
for _, item in ipairs(set_here) do fields[#fields + 1] = item end
hset(unpack(fields))
if state == 'pending' then
  redis.call('ZADD', pending, tonumber(expires_ms), id)
  audit('created', state, field('reason'))
else
  audit('created-break-glass', state, field('reason'))
end
return {'ok', state, 0, set_here, {}}
