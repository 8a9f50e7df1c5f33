-- Shared prelude, prepended to every approval script by approvals/store.py.
-- KEYS[1] request hash        chatops:approval:{id}
-- KEYS[2] approvers set       chatops:approval:{id}:approvers
-- KEYS[3] pending zset        chatops:approvals:pending   (id -> expires_ms)
-- KEYS[4] executing zset      chatops:approvals:executing (id -> lease_expires_ms)
-- KEYS[5] audit stream (all)  chatops:audit
-- KEYS[6] audit stream (one)  chatops:audit:{id}
-- KEYS[7] request id counter  chatops:approval:seq (used by create only)
-- KEYS[8] submissions hash    chatops:approval:{id}:submissions (sequence number -> expires_s;
--                             written by submitting only)
-- ARGV[1] now_ms: '' in production, so every decision (expiry, leases, audit times) runs on the
--         Redis server's clock, the one clock all replicas share; tests pass an explicit value.
-- ARGV[2] actor (user id or worker)
-- Every script returns a table whose first item is 'ok' or an error word, then the state.
-- Scripts that hand the request back (create, approve) append, via with_request, the request
-- hash (HGETALL, flat) and the approvers (SMEMBERS) as this script left them.
local req, approvers, pending, executing = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local audit_all, audit_one, submissions = KEYS[5], KEYS[6], KEYS[8]
local now_ms
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now_ms = tonumber(ARGV[1])
end
local actor = ARGV[2]

-- Fields of the request hash read (or written) during this script: a value, or false for a field
-- the hash lacks. A script runs atomically and writes the hash only through hset below, so a
-- cached value is always the stored one. Once the whole hash is known (`complete`: loaded with one
-- HGETALL, or written whole by create), a field not in the cache is known to be missing.
local cache = {}
local complete = false

local function field(name)
  local value = cache[name]
  if value == nil then
    if complete then return '' end
    value = redis.call('HGET', req, name)
    cache[name] = value
  end
  return value or ''
end

-- Read the whole hash once (one HGETALL instead of one HGET per field); false if it is missing.
local function load()
  local flat = redis.call('HGETALL', req)
  for i = 1, #flat, 2 do cache[flat[i]] = flat[i + 1] end
  complete = true
  return #flat > 0
end

-- HSET on the request hash (name, value, ...; values are strings), keeping the cache in step.
local function hset(...)
  local args = {...}
  for i = 1, #args, 2 do
    if type(args[i + 1]) ~= 'string' then error('hset: the value of ' .. args[i] .. ' is not a string') end
    cache[args[i]] = args[i + 1]
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

-- The reply plus the request as it is now: {status, state, count, hash (flat), approvers}. The
-- hash comes from the cache when it is complete (no second HGETALL); `members` are the approvers
-- when the script already holds them (SMEMBERS otherwise).
local function with_request(status, state, count, members)
  local flat
  if complete then
    flat = {}
    for name, value in pairs(cache) do
      if value then
        flat[#flat + 1] = name
        flat[#flat + 1] = value
      end
    end
  else
    flat = redis.call('HGETALL', req)
  end
  return {status, state, count, flat, members or redis.call('SMEMBERS', approvers)}
end
