--[[
  Re-routes entries of a Sidekiq sorted set (schedule, retry or dead) in place: each original
  member is replaced by its rewritten bytes with the same score, and only if the original is
  still there. Everything happens in this one call, so no crash or concurrent Sidekiq poller can
  observe a job removed but not re-added.

  KEYS[1]  the sorted set (zset)
  KEYS[2]  optional: the run's record of the entries it rewrote in this set (a set of digests,
           core/reroute/rewritten-entries.ts). ZSCAN may return a rewritten entry again later in
           the same scan; the page then knows it is this run's own work, not a job that was
           already routed. Only a count depends on it, never a job.
  ARGV     quads, one per entry: original member, rewritten member, score — the exact score
           text ZSCAN returned, so the due time is preserved to the last digit — and the
           rewritten member's digest (recorded in KEYS[2] when it is given)

  Returns  { moved, vanished, conflicts }
    moved      originals replaced by their rewrite
    vanished   originals no longer in the set (the poller enqueued them, a UI action removed
               them, another run moved them): nothing is added for these
    conflicts  the rewritten member was already in the set (the same job twice): the original
               is put back untouched, so no job disappears into a duplicate

  Refused before any write (guards.lua), every entry left as it was: KEYS[1] not a sorted set,
  KEYS[2] not a set, or a score ZADD would not take.
]]
local set, rewrites = KEYS[1], KEYS[2]
local checks = { { set, 'zset' } }
if rewrites then checks[2] = { rewrites, 'set' } end
local refusal = wrongType(checks) or badScore(3, 4)
if refusal then return refusal end
-- The record outlives the run's last page of this set only if the run dies: it then expires.
local RECORD_TTL_SECONDS = 7 * 24 * 3600
-- Digests go into the record a few hundred per SADD, after the moves, rather than one SADD per
-- entry (a command call costs Redis about as much as the insert itself). Nothing there can fail
-- once entries have moved: KEYS[2] is a set (checked above), Redis refuses a script for memory
-- only at its first write (here a ZREM), and unpack stays far below Lua's limit (8,000 values).
local DIGESTS_PER_SADD = 500
local moved, vanished, conflicts = 0, 0, 0
local digests = {}
for i = 1, #ARGV, 4 do
  local original, rewritten, score = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('ZREM', set, original) == 1 then
    if redis.call('ZADD', set, 'NX', score, rewritten) == 1 then
      moved = moved + 1
      digests[moved] = ARGV[i + 3]
    else
      redis.call('ZADD', set, score, original)
      conflicts = conflicts + 1
    end
  else
    vanished = vanished + 1
  end
end
if rewrites and moved > 0 then
  for first = 1, moved, DIGESTS_PER_SADD do
    redis.call('SADD', rewrites, unpack(digests, first, math.min(first + DIGESTS_PER_SADD - 1, moved)))
  end
  redis.call('EXPIRE', rewrites, RECORD_TTL_SECONDS)
end
return { moved, vanished, conflicts }
