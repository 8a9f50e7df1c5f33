-- Shared prelude, prepended to every approval script by approvals/store.py.
-- KEYS[1] request hash        chatops:approval:{id}
-- KEYS[2] approvers set       chatops:approval:{id}:approvers
-- KEYS[3] pending zset        chatops:approvals:pending   (id -> expires_ms)
-- KEYS[4] executing zset      chatops:approvals:executing (id -> lease_expires_ms)
-- KEYS[5] audit stream (all)  chatops:audit
-- KEYS[6] audit stream (one)  chatops:audit:{id}
-- ARGV[1] now_ms: '' in production, so every decision (expiry, leases, audit times) runs on the
--         Redis server's clock, the one clock all replicas share; tests pass an explicit value.
-- ARGV[2] actor (user id or worker)
-- Every script returns a table whose first item is 'ok' or an error word, then the state.
local req, approvers, pending, executing = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local audit_all, audit_one = KEYS[5], KEYS[6]
local now_ms
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now_ms = tonumber(ARGV[1])
end
local actor = ARGV[2]

local function field(name)
  local value = redis.call('HGET', req, name)
  if value == false then return '' end
  return value
end

local function audit(event, state, detail)
  local entry = {'request_id', field('id'), 'event', event, 'actor', actor, 'state', state,
                 'digest', field('digest'), 'at_ms', tostring(now_ms), 'detail', detail or ''}
  redis.call('XADD', audit_all, '*', unpack(entry))
  redis.call('XADD', audit_one, '*', unpack(entry))
end

local function set_state(state, event, detail)
  redis.call('HSET', req, 'state', state)
  audit(event, state, detail)
end

-- A pending request past its expiry becomes expired the moment anyone touches it.
local function expire_if_due()
  if field('state') == 'pending' and now_ms >= tonumber(field('expires_ms')) then
    redis.call('ZREM', pending, field('id'))
    set_state('expired', 'expired', '')
    return true
  end
  return false
end
