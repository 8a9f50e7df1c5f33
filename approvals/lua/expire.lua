-- expire: the sweeper's per-request check; a pending request past expires_ms becomes expired.
-- Returns {'ok', 'expired'} or {'state', state}.
if redis.call('EXISTS', req) == 0 then
  redis.call('ZREM', pending, ARGV[3])
  return {'not_found', ''}
end
if expire_if_due() then return {'ok', 'expired'} end
return {'state', field('state')}
