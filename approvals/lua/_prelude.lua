-- Shared prelude, prepended to every approval script by approvals/store.py.
-- KEYS[1] request hash        chatops:approval:{id}
-- KEYS[2] approvers set       chatops:approval:{id}:approvers
-- KEYS[3] pending zset        chatops:approvals:pending   (id -> expires_ms)
-- KEYS[4] executing zset      chatops:approvals:executing (id -> lease_expires_ms)
-- KEYS[5] audit stream (all)  chatops:audit
-- KEYS[6] audit stream (one)  chatops:audit:{id}
-- KEYS[7] request id counter  chatops:approval:seq (used by create only)
-- ARGV[1] now_ms: '' in production, so every decision (expiry, leases, audit times) runs on the
--         Redis server's clock, the one clock all replicas share; tests pass an explicit value.
-- ARGV[2] actor (user id or worker)
-- Every script returns a table whose first item is 'ok' or an error word, then the state.
-- Scripts that hand the request back (create, approve) append, via with_request, the request
-- hash (HGETALL, flat) and the approvers (SMEMBERS) as this script left them.
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

-- Fields of the request hash read (or written) during this script. A script runs atomically and
-- writes the hash only through hset below, so a cached value is always the stored one.
local cache = {}

local function field(name)
  local value = cache[name]
  if value == nil then
    value = redis.call('HGET', req, name)
    if value == false then value = '' end
    cache[name] = value
  end
  return value
end

-- Read the whole hash once (one HGETALL instead of one HGET per field); false if it is missing.
local function load()
  local flat = redis.call('HGETALL', req)
  for i = 1, #flat, 2 do cache[flat[i]] = flat[i + 1] end
  return #flat > 0
end

-- HSET on the request hash (name, value, ...), keeping the cache in step.
local function hset(...)
  local args = {...}
  for i = 1, #args, 2 do
    local value = args[i + 1]
    if type(value) == 'string' then cache[args[i]] = value else cache[args[i]] = nil end
  end
  redis.call('HSET', req, unpack(args))
end

local function audit(event, state, detail)
  local entry = {'request_id', field('id'), 'event', event, 'actor', actor, 'state', state,
                 'digest', field('digest'), 'at_ms', tostring(now_ms), 'detail', detail or ''}
  redis.call('XADD', audit_all, '*', unpack(entry))
  redis.call('XADD', audit_one, '*', unpack(entry))
end

local function set_state(state, event, detail)
  hset('state', state)
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

-- The reply plus the request as it is now: {status, state, count, hash (flat), approvers}.
local function with_request(status, state, count)
  return {status, state, count, redis.call('HGETALL', req), redis.call('SMEMBERS', approvers)}
end
