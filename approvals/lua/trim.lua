-- trim: delete requests that reached a final state before a time (retention), with their approvers
-- set and the hash of submissions an earlier version kept; one batch the caller read from KEYS[1].
-- KEYS[1] finished zset chatops:approvals:finished (id -> ms it became final), then three per
-- request: its hash chatops:approval:{number}, its approvers set, its legacy submissions hash
-- ARGV[1] cutoff_ms, then one per request, in the order of KEYS: its whole id
-- A request is deleted only if it is still the one under its number, still final, and became
-- final before the cutoff; an id whose number now holds another request only leaves the zset.
-- Returns how many requests were deleted.
local FINAL = {succeeded = true, failed = true, denied = true, cancelled = true, expired = true}
local cutoff = tonumber(ARGV[1])
local deleted = 0
for i = 0, (#KEYS - 1) / 3 - 1 do
  local id = ARGV[2 + i]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) < cutoff then
    local req = KEYS[2 + i * 3]
    local found = redis.call('HMGET', req, 'id', 'state')
    if found[1] == id and FINAL[found[2]] then
      redis.call('DEL', req, KEYS[3 + i * 3], KEYS[4 + i * 3])
      deleted = deleted + 1
    end
    redis.call('ZREM', KEYS[1], id)
  end
end
return deleted
