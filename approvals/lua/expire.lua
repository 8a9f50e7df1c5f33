-- expire: the sweeper's check of one id from the pending zset; a pending request past its
-- expires_ms becomes expired. An id no request has any more (Redis lost it, or its number was
-- reused) leaves the zset. Returns {'ok', 'expired'} or {'state', state} / an error word.
local gone = missing()
if gone then
  redis.call('ZREM', pending, wanted)
  return gone
end
if expire_if_due() then return reply('ok', 'expired') end
return reply('state', field('state'))
