-- journal_append: add one entry to the ops journal, at most once per dedupe key.
-- KEYS[1] JOURNAL stream, KEYS[2] JOURNAL_SEEN hash (dedupe key -> stream id)
-- ARGV[1] the entry as JSON, ARGV[2] dedupe key ('' appends unconditionally)
-- Returns 1 when added, 0 when the dedupe key was already used.
if ARGV[2] ~= '' and redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
local id = redis.call('XADD', KEYS[1], '*', 'entry', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], ARGV[2], id) end
return 1
