-- approve: one more person approves what they were shown. ARGV[4] the calls' digest they saw ('',
-- when they were shown only the id: its tag binds it to one request, whose calls never change).
-- ARGV[5] a lease token and ARGV[6] a lease in ms: when this is the last approval needed, the
-- request is claimed for execution by that token in the same step ('' leaves it approved).
-- Invariants kept here whatever the caller does: the request the approver saw, never the
-- requester, the same calls, only while pending and not expired, each person counts once.
-- Break-glass requests take one retro-approval from a second person after the fact.
-- Returns {'ok' or 'already', state, approvals counted, request hash (flat)} or an error word;
-- 'stale' and 'digest' also carry the request as it is.
local gone = missing()
if gone then return gone end
if actor == field('requester') then
  audit('approve-refused', field('state'), 'self-approval')
  return reply('self', field('state'))
end
if ARGV[4] ~= '' and ARGV[4] ~= field('digest') then
  audit('approve-refused', field('state'), 'digest mismatch')
  return with_request('digest', field('state'), 0)
end
if field('break_glass') == '1' then
  if field('retro_approved_by') ~= '' then return with_request('already', field('state'), 1) end
  hset('retro_approved_by', actor)
  audit('retro-approved', field('state'), '')
  return with_request('ok', field('state'), 1)
end
if expire_if_due() then return reply('expired', 'expired') end
if field('state') ~= 'pending' then return with_request('state', field('state'), 0) end
local people = field('approvers')
local count = 0
for _ in string.gmatch(people, '[^,]+') do count = count + 1 end
if listed(people, actor) then return with_request('already', 'pending', count) end
people = people == '' and actor or (people .. ',' .. actor)
count = count + 1
hset('approvers', people)
if count < tonumber(field('needed')) then
  audit('approval', 'pending', tostring(count))
  return with_request('ok', 'pending', count)
end
redis.call('ZREM', pending, wanted)
if ARGV[5] == '' then
  set_state('approved', 'approved', '')
else
  local lease_expires = now() + tonumber(ARGV[6])
  hset('lease_owner', ARGV[5], 'lease_expires_ms', tostring(lease_expires))
  redis.call('ZADD', executing, lease_expires, wanted)
  set_state('executing', 'approved', 'claimed by ' .. string.match(ARGV[5], '^[^:]*'))
end
return with_request('ok', field('state'), count)
