-- create: store a new request. ARGV[3] JSON object of string fields (id, command, calls, digest,
-- requester, ...), ARGV[4] '1' for break-glass (then it starts approved by one person), ARGV[5] the
-- time to live in ms: expires_ms is now_ms + ttl, on the same clock that later decides expiry.
-- Returns {'ok', state} or {'exists', state}.
if redis.call('EXISTS', req) == 1 then return {'exists', field('state')} end
local fields = cjson.decode(ARGV[3])
for name, value in pairs(fields) do redis.call('HSET', req, name, tostring(value)) end
redis.call('HSET', req, 'created_ms', tostring(now_ms), 'break_glass', ARGV[4],
           'expires_ms', tostring(now_ms + tonumber(ARGV[5])))
if ARGV[4] == '1' then
  set_state('approved', 'created-break-glass', field('reason'))
  return {'ok', 'approved'}
end
redis.call('ZADD', pending, tonumber(field('expires_ms')), field('id'))
set_state('pending', 'created', field('reason'))
return {'ok', 'pending'}
