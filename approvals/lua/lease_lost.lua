-- lease_lost: an executing request whose lease ran out (its worker died) needs reconciliation:
-- never resent blindly. Returns {'ok', 'needs-reconciliation', 0, request hash (flat)} or
-- {'state', state} (executing while its lease holds, or not executing at all).
local gone = missing()
if gone then
  redis.call('ZREM', executing, wanted)
  return gone
end
if field('state') ~= 'executing' then
  redis.call('ZREM', executing, wanted)
  return reply('state', field('state'))
end
if now() < tonumber(field('lease_expires_ms')) then return reply('state', field('state')) end
redis.call('ZREM', executing, wanted)
set_state('needs-reconciliation', 'lease-lost', string.match(field('lease_owner'), '^[^:]*'))
return with_request('ok', 'needs-reconciliation', 0)
