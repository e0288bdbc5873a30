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
  KEYS[#KEYS] only when R > 0: the run's record of moves (a set, core/reroute/move-record.ts)
  ARGV[1]  R, the number of record members this call adds (0: the run records nothing)
  ARGV[2]  the record's time to live in seconds ('' when R is 0)
  ARGV[3..2+R] R record members: the distinct moves of this call's entries, `["Class","from","to"…]`
  then     quads, one per entry: original member, rewritten member, the rewritten member's
           digest (recorded in the record of rewrites when it is given), and the 1-based index of
           the entry's move among the R members ('0': not recorded; every entry's when R is 0).
           No score: the rewrite takes the score the original has when this call removes it, read
           here (ZMSCORE), the exact text, so the due time is preserved to the last digit. -n4 was
           also given the score ZSCAN returned, checked (a score ZADD takes) and never used: an
           argument and a guard per entry, dropped in -n5 (issue #18, bench/README audit-rrcpu).

  The record of moves is written in the same call as the moves, after them, and names only the
  moves of entries this call moved: an entry that vanished (the poller took it) or conflicted
  (left as it was) adds nothing, so a rollback never meets a move that did not happen (one such
  move of a class from a queue it did not come from made the rollback refuse the class's other
  jobs, "from several queues"). After the moves, an entry still never moves without its record:
  nothing can fail once the first ZREM ran (Redis refuses a script for memory only at its first
  write, and a ZREM refused leaves every entry as it was; the record is a set, checked first).

  The score is the one the set holds, not the one ZSCAN returned: between the page's scan and this
  call an entry may be rescheduled in place (Sidekiq's SortedEntry#reschedule is a ZINCRBY of the
  same member; a producer ZADDs the same bytes again). With ZSCAN's score the moved job went back
  to the time it had been moved away from (rerouteSetEntries-n did;
  test/redis/reroute/rescheduled-entry.test.ts). So does a conflict given back.

  Returns  { moved, vanished, conflicts, c1, c2, … }
    moved      originals replaced by their rewrite
    vanished   originals not in the set when the call starts (the poller enqueued them, a UI
               action removed them, another run moved them), or no longer when their turn
               comes: nothing is added for these
    conflicts  the rewritten member was already in the set (the same job twice): the original
               is put back untouched, so no job disappears into a duplicate
    c1, c2, …  the 1-based places among this call's quads of the conflicts (as many as
               `conflicts`; none in the common case): the caller counts each original left
               there under the queue it names (set-page.ts, RerouteCounters.unmappedNaming).
               New in -n4; -n3 returned the three counts only.

  Refused before any write (guards.lua), every entry left as it was: KEYS[1] not a sorted set,
  a record not a set, R or the time to live not a whole number (the time to live from 1 to 10^15
  seconds: EXPIRE refuses more, after the moves), the entries not whole quads, or a move index not
  one of 0..R. (Every score this call writes is one ZMSCORE read from the set.)
  New in -n6: that bound. -n5 took any whole number, and EXPIRE refusing it (above ~9.2e15 s:
  `invalid expire time`) failed the call after its moves: every entry moved, none recorded, so a
  rollback would not have brought them back (no caller sent one: MOVES_TTL_SECONDS is 30 days;
  reroute-set-entries.test.ts).
]]
local recorded, recordTtl = tonumber(ARGV[1]), tonumber(ARGV[2])
-- The record's EXPIRE runs after the moves: a time to live it refuses is refused here (see above).
local MAX_RECORD_TTL_SECONDS = 1e15
if recorded == nil or recorded < 0 or recorded % 1 ~= 0 or (recorded > 0 and (#KEYS < 2 or recordTtl == nil or recordTtl < 1 or recordTtl % 1 ~= 0 or recordTtl > MAX_RECORD_TTL_SECONDS)) then
  return redis.error_reply('ERR rerouteSetEntries: ARGV[1] must be the number of record members, with its key and a whole time to live in seconds (1 to 10^15) when it is not 0')
end
local set = KEYS[1]
local record = recorded > 0 and KEYS[#KEYS] or nil
local rewrites = (#KEYS == (recorded > 0 and 3 or 2)) and KEYS[2] or nil
local quadsFrom = 3 + recorded
-- Every command this call may run, on every key, before anything else (guards.lua).
local commands = { { set, 'TYPE', 'ZMSCORE', 'ZREM', 'ZADD' } }
if rewrites then commands[#commands + 1] = { rewrites, 'TYPE', 'SADD', 'EXPIRE' } end
if record then commands[#commands + 1] = { record, 'TYPE', 'SADD', 'EXPIRE' } end
local refused = refusedCommand(commands)
if refused then return refused end
local checks = { { set, 'zset' } }
if rewrites then checks[#checks + 1] = { rewrites, 'set' } end
if record then checks[#checks + 1] = { record, 'set' } end
local refusal = wrongType(checks)
if refusal then return refusal end
if (#ARGV - quadsFrom + 1) % 4 ~= 0 then
  return redis.error_reply('ERR rerouteSetEntries: the entries must come as quads')
end
-- Each entry's move index, as the caller writes it ('1', '2'…, or '0': not recorded): one table
-- lookup an entry, here and below. One that names no member would fail the record's write after
-- the moves: refused here, before any write. The same pass gathers the originals for ZMSCORE.
local moveIndex = moveIndexes(recorded) -- lib/move-record.lua
local originals = {}
for i = quadsFrom, #ARGV, 4 do
  if not moveIndex[ARGV[i + 3]] then
    return redis.error_reply('ERR rerouteSetEntries: move index ' .. ARGV[i + 3] .. ' is not one of 0..' .. recorded)
  end
  originals[#originals + 1] = ARGV[i]
end
-- The record outlives the run's last page of this set only if the run dies: it then expires.
local RECORD_TTL_SECONDS = 7 * 24 * 3600
-- Digests go into the record a few hundred per SADD, after the moves, rather than one SADD per
-- entry (a command call costs Redis about as much as the insert itself). Nothing there can fail
-- once entries have moved: the records are sets (checked above), Redis refuses a script for
-- memory only at its first write (a ZREM), and unpack stays far below Lua's limit (8,000 values).
local DIGESTS_PER_SADD = 500
local moved, vanished, conflicts = 0, 0, 0
local conflicted = {}
local digests = {}
local happened, members = {}, {}
-- Each original's score now (reads, before any write): one ZMSCORE per call, not one ZSCORE an
-- entry. Only this call's own ZADDs change the set from here on: a rewrite added NX (a member not
-- there, so an original read as absent here, moved in by an earlier entry's rewrite, stays
-- vanished) and an original given back with the score it had, so each read stays true.
local current = variadicArray('ZMSCORE', set, originals)
local e = 0
for i = quadsFrom, #ARGV, 4 do
  e = e + 1
  local original, rewritten, score = ARGV[i], ARGV[i + 1], current[e]
  if score and redis.call('ZREM', set, original) == 1 then
    if redis.call('ZADD', set, 'NX', score, rewritten) == 1 then
      moved = moved + 1
      digests[moved] = ARGV[i + 2]
      local m = moveIndex[ARGV[i + 3]]
      if m > 0 and not happened[m] then noteMove(happened, members, m, ARGV[2 + m]) end
    else
      redis.call('ZADD', set, score, original)
      conflicts = conflicts + 1
      conflicted[conflicts] = e
    end
  else
    vanished = vanished + 1
  end
end
-- The record of the moves that happened (few members: one a distinct class, from and to), its
-- expiry renewed only by a call that moved (lib/move-record.lua).
writeMoveRecord(record, members, recordTtl)
if rewrites and moved > 0 then
  for first = 1, moved, DIGESTS_PER_SADD do
    redis.call('SADD', rewrites, unpack(digests, first, math.min(first + DIGESTS_PER_SADD - 1, moved)))
  end
  redis.call('EXPIRE', rewrites, RECORD_TTL_SECONDS)
end
local reply = { moved, vanished, conflicts }
for c = 1, conflicts do reply[3 + c] = conflicted[c] end
return reply
