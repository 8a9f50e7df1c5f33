-- lease_lost: an executing request whose lease ran out (its worker died) needs reconciliation:
-- never resent blindly. Returns {'ok', 'needs-reconciliation'} or {'state', state}.
if field('state') ~= 'executing' or now_ms < tonumber(field('lease_expires_ms')) then
  if field('state') ~= 'executing' then redis.call('ZREM', executing, ARGV[3]) end
  return {'state', field('state')}
end
redis.call('ZREM', executing, field('id'))
set_state('needs-reconciliation', 'lease-lost', field('lease_owner'))
return {'ok', 'needs-reconciliation'}
