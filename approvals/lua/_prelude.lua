-- Shared prelude, prepended to every approval script by approvals/store.py.
-- KEYS[1] request hash       chatops:approval:{number}; its field 'id' is the whole id (number-tag)
-- KEYS[2] pending zset       chatops:approvals:pending   (id -> expires_ms)
-- KEYS[3] executing zset     chatops:approvals:executing (id -> lease_expires_ms)
-- KEYS[4] audit stream       chatops:audit: every transition, with what the journal shows of it
-- KEYS[5] request numbers    chatops:approval:seq (the last number taken; create only)
-- KEYS[6] open calls hash    chatops:approvals:open (digest -> id of the one open request with them)
-- KEYS[7] finished zset      chatops:approvals:finished (id -> ms it reached a final state: retention)
-- ARGV[1] now_ms: '' in production, so every decision (expiry, leases) runs on the Redis server's
--         clock, the one clock all replicas share, read only when a decision needs it; tests pass
--         an explicit value.
-- ARGV[2] actor (user id or worker)
-- ARGV[3] the whole id the caller means: what the person was shown. Ids never repeat, but numbers
--         do after Redis loses its data; a script on a request whose id differs answers 'stale'.
-- Every script returns a table: a status word ('ok' or an error word), the state, a count, and for
-- most the request hash as the script left it (flat name, value list).
local req, pending, executing = KEYS[1], KEYS[2], KEYS[3]
local audit_stream, open_calls, finished = KEYS[4], KEYS[6], KEYS[7]
local actor, wanted = ARGV[2], ARGV[3]

local now_cache = nil
if ARGV[1] ~= '' then now_cache = tonumber(ARGV[1]) end
local function now()
  if now_cache == nil then
    local time = redis.call('TIME')
    now_cache = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  end
  return now_cache
end

-- The request hash, read once (HGETALL) and written once (flush: one HSET of every changed field).
-- A field the hash lacks reads as ''.
local cache = {}
local dirty = {}

local function field(name)
  return cache[name] or ''
end

local function load()
  local flat = redis.call('HGETALL', req)
  for i = 1, #flat, 2 do cache[flat[i]] = flat[i + 1] end
  return #flat > 0
end

local function hset(...)
  local args = {...}
  for i = 1, #args, 2 do
    if type(args[i + 1]) ~= 'string' then error('hset: the value of ' .. args[i] .. ' is not a string') end
    cache[args[i]] = args[i + 1]
    dirty[args[i]] = true
  end
end

local function flush()
  local flat = {}
  for name in pairs(dirty) do
    flat[#flat + 1] = name
    flat[#flat + 1] = cache[name]
  end
  if #flat > 0 then redis.call('HSET', req, unpack(flat)) end
  dirty = {}
end

-- One audit entry: on the stream, with what the ops journal shows of it (the journal reads the
-- stream, so an approval's journal line is written in the same atomic step as the transition), and
-- as a line of the request's own history (field 'history', written by the next flush).
local function audit(event, state, detail)
  detail = detail or ''
  local entry = {'request_id', field('id'), 'event', event, 'actor', actor, 'state', state,
                 'digest', field('digest'), 'detail', detail, 'command', field('command'),
                 'text', field('text'), 'requester', field('requester'),
                 'approvers', field('approvers'), 'tx_hashes', field('tx_hashes')}
  if ARGV[1] ~= '' then
    entry[#entry + 1] = 'at_ms'
    entry[#entry + 1] = ARGV[1]
  end
  local stream_id = redis.call('XADD', audit_stream, '*', unpack(entry))
  local at_ms = ARGV[1] ~= '' and ARGV[1] or string.match(stream_id, '^(%d+)')
  local line = cjson.encode({at_ms, event, actor, state, detail})
  local history = field('history')
  if history == '' then hset('history', line) else hset('history', history .. '\n' .. line) end
  return at_ms
end

local FINAL = {succeeded = true, failed = true, denied = true, cancelled = true, expired = true}

-- A final state frees the request's calls: an identical request may be made again; it also dates
-- the request for retention (approvals/lua/trim.lua deletes it once old enough).
local function set_state(state, event, detail)
  hset('state', state)
  if FINAL[state] and field('holds_calls') == '1' then
    redis.call('HDEL', open_calls, field('digest'))
    hset('holds_calls', '0')
  end
  -- dated by its audit entry (the stream id's time, or the caller's clock): no TIME of its own
  local at_ms = audit(event, state, detail)
  if FINAL[state] then redis.call('ZADD', finished, at_ms, field('id')) end
end

-- A pending request past its expiry becomes expired the moment anyone touches it.
local function expire_if_due()
  if field('state') == 'pending' and now() >= tonumber(field('expires_ms')) then
    redis.call('ZREM', pending, field('id'))
    set_state('expired', 'expired', '')
    return true
  end
  return false
end

-- Writes the changes, then the reply: {status, state, count, the request hash (flat)}.
local function with_request(status, state, count)
  flush()
  local flat = {}
  for name, value in pairs(cache) do
    flat[#flat + 1] = name
    flat[#flat + 1] = value
  end
  return {status, state, count or 0, flat}
end

local function reply(status, state)
  flush()
  return {status, state}
end

-- Loads the request the caller means; nil when it is there, else the reply to give: 'not_found'
-- (nothing under that number), or 'stale' with the request that now has the number.
local function missing()
  if not load() then return {'not_found', ''} end
  if field('id') ~= wanted then return with_request('stale', field('state'), 0) end
  return nil
end

-- Whether user id `who` is in the comma-separated list `list`.
local function listed(list, who)
  for item in string.gmatch(list, '[^,]+') do
    if item == who then return true end
  end
  return false
end
