-- approve: one more person approves. ARGV[3] the digest the approver saw.
-- Invariants kept here whatever the caller does: never the requester, the digest must match, only
-- while pending and not expired, each person counts once. Break-glass requests take one
-- retro-approval from a second person after the fact.
-- Returns {'ok' or 'already', state, count, request hash (flat), approvers} or {error, state}.
if not load() then return {'not_found', ''} end
if actor == field('requester') then
  audit('approve-refused', field('state'), 'self-approval')
  return {'self', field('state')}
end
if ARGV[3] ~= field('digest') then
  audit('approve-refused', field('state'), 'digest mismatch')
  return {'digest', field('state')}
end
if field('break_glass') == '1' then
  if field('retro_approved_by') ~= '' then return with_request('already', field('state'), 1) end
  hset('retro_approved_by', actor)
  audit('retro-approved', field('state'), '')
  return with_request('ok', field('state'), 1)
end
if expire_if_due() then return {'expired', 'expired'} end
local state = field('state')
if state ~= 'pending' then return {'state', state} end
local added = redis.call('SADD', approvers, actor)
local members = redis.call('SMEMBERS', approvers)
if added == 0 then return with_request('already', state, #members, members) end
if #members >= tonumber(field('needed')) then
  redis.call('ZREM', pending, field('id'))
  set_state('approved', 'approved', '')
  return with_request('ok', 'approved', #members, members)
end
audit('approval', 'pending', tostring(#members))
return with_request('ok', 'pending', #members, members)
