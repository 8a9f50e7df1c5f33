-- outbox_coalesce: freeze a digest before it is posted: mark every one of its items 'posting' under
-- one digest id, all or none, so a crash leaves them in doubt together and the lookup after it
-- (PostFinder.find_digest) settles them together. The lead (the channel's head item, which stays the
-- head until the digest is settled) keeps the members, so a restart re-reads exactly this digest.
-- KEYS[1..n] the items' hashes, the lead first, in queue order
-- ARGV[1] digest id, ARGV[2] channel the message goes to, ARGV[3] thread ts ('' at the top level),
-- ARGV[4] now_ms, ARGV[5] the items' ids joined by ',', ARGV[6] their stream entry ids joined by ','
-- Returns 1 when frozen, 0 (and nothing changed) when an item is gone or no longer queued.
for i = 1, #KEYS do
  if redis.call('HGET', KEYS[i], 'state') ~= 'queued' then
    return 0
  end
end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'state', 'posting', 'digest', ARGV[1], 'thread_ts', ARGV[3],
             'posting_ms', ARGV[4])
end
redis.call('HSET', KEYS[1], 'digest_items', ARGV[5], 'digest_entries', ARGV[6],
           'digest_channel', ARGV[2])
return 1
