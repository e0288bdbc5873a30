--[[
  Prepended to every script by core/redis/lua-script.ts, after run-generation.lua. A re-route's
  record of its moves (a set, core/reroute/move-record.ts: what `rollback` reads), as both re-route
  steps keep it (rerouteQueueJobs-n4.lua, rerouteSetEntries-n6.lua): written by the call that moves,
  after its moves, naming only the moves that happened (a job a consumer popped first, an entry
  that vanished or conflicted, adds nothing). Written once for the two steps (it was written in
  each, line for line).

  moveIndexes(recorded)  recorded: R, the number of record members the call was given
  Returns  a table from a job's move index as the caller writes it ('0', '1', … 'R') to its number
           (0: not recorded): one table lookup a job. An index not in it names no member: the
           step refuses the call before any write (the record's write would fail after the moves).

  noteMove(happened, members, m, member)
           The first time move m (1..R) happened in this call: marks it in `happened` and appends
           its member to `members`, in first-seen order. The step tests `m > 0 and not happened[m]`
           itself: one comparison a job, this call once a move.

  writeMoveRecord(key, members, ttl)  key: the run's record of moves (one of the step's KEYS)
           When a move happened (`members` not empty): SADD of the members to `key` (lib/variadic.lua),
           then its expiry renewed to `ttl` seconds; nothing otherwise, so that only a call that
           moved a recorded job renews it. Called after the moves, where nothing may fail: the
           record's type and the user's right to SADD and EXPIRE it are checked before the step's
           first write (guards.lua), Redis refuses a script for memory only at its first write, and
           each SADD is of at most VARIADIC_CHUNK members, far below unpack's limit. `ttl` is a
           whole number >= 1, checked by the step; its callers send MOVES_TTL_SECONDS (30 days).
           EXPIRE refuses a whole number above about 9.2e15 seconds (`invalid expire time`; from
           1e17, which Lua hands over with an exponent: `value is not an integer`; Redis 7.0.15):
           both steps refuse more than 10^15 before their first write (rerouteQueueJobs-n4.lua,
           rerouteSetEntries-n6.lua; their versions before took it and failed here, after their
           moves, though no caller sent one: audit-luasweep).
]]
local function moveIndexes(recorded)
  local indexes = { ['0'] = 0 }
  for m = 1, recorded do indexes[tostring(m)] = m end
  return indexes
end

local function noteMove(happened, members, m, member)
  happened[m] = true
  members[#members + 1] = member
end

local function writeMoveRecord(key, members, ttl)
  if #members == 0 then return end
  variadic('SADD', key, members)
  redis.call('EXPIRE', key, ttl)
end
