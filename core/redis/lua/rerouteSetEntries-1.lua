--[[
  Re-routes entries of a Sidekiq sorted set (schedule, retry or dead) in place: each original
  member is replaced by its rewritten bytes with the same score, and only if the original is
  still there. Everything happens in this one call, so no crash or concurrent Sidekiq poller can
  observe a job removed but not re-added.

  KEYS[1]  the sorted set (zset)
  ARGV     triples, one per entry: original member, rewritten member, score — the exact score
           text ZSCAN returned, so the due time is preserved to the last digit

  Returns  { moved, vanished, conflicts }
    moved      originals replaced by their rewrite
    vanished   originals no longer in the set (the poller enqueued them, a UI action removed
               them, another run moved them): nothing is added for these
    conflicts  the rewritten member was already in the set (the same job twice): the original
               is put back untouched, so no job disappears into a duplicate

  Refused before any write (guards.lua), every entry left as it was: KEYS[1] not a sorted set,
  or a score ZADD would not take.
]]
local set = KEYS[1]
local refusal = wrongType({ { set, 'zset' } }) or badScore(3, 3)
if refusal then return refusal end
local moved, vanished, conflicts = 0, 0, 0
for i = 1, #ARGV, 3 do
  local original, rewritten, score = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('ZREM', set, original) == 1 then
    if redis.call('ZADD', set, 'NX', score, rewritten) == 1 then
      moved = moved + 1
    else
      redis.call('ZADD', set, score, original)
      conflicts = conflicts + 1
    end
  else
    vanished = vanished + 1
  end
end
return { moved, vanished, conflicts }
