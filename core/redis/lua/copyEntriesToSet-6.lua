--[[
  Writes claimed sorted-set entries to the same set on the target, each at most once per run
  (see copyJobsToLists-n4.lua for why a ledger and not the set itself: the entry may have been
  polled, run and even re-added on the target since the first copy).

  A sorted set cannot hold the same member twice: when an entry's bytes (rewritten, when routing
  changes its queue) are already in the target set — another entry of this run was rewritten to
  the same bytes, or it was there before — a plain ZADD would merge two jobs into one. It is
  added with NX, and when that adds nothing it is a conflict: not written, not in the ledger; the
  acknowledge gives it back to the source set (acknowledgeSetBatch-10.lua).

  The ledger has no TTL here (and loses one an older version gave it): under the volatile-*
  eviction policies only keys with a TTL are evicted, and a ledger evicted while its entries are
  in flight would let them be written twice. Its TTL is set once nothing it records can be in
  flight any more (core/transfer/retire-ledger.ts). A call that writes nothing to the ledger while
  the run lock on the target is not the writing run's (gone: the run ended and released it, or
  expired) leaves the ledger's TTL as it is (copyEntriesToSet-5 took it off: a page task's attempt
  that Step Functions gave up on and that still copied after the run ended left the run's retired
  ledger without a TTL, overlapping-page-attempts.test.ts). Before it is written, its name goes into the
  target's index of ledgers that may have no TTL (KEYS[4], core/transfer/ledger-index.ts), in this
  same call: a ledger without a TTL is never missing from the index, so the last execution of a
  later transfer finds it there without walking the target's keyspace (core/transfer/ledgers-left.ts).

  Nothing is written while another run, or a later execution of the writing run, holds the run
  lock on the target (KEYS[3]; see copyJobsToLists-n4.lua for why the write looks).

  KEYS[1]  the run's ledger for this source set: a set of the ids of the claimed entries written
  KEYS[2]  the target sorted set
  KEYS[3]  the run lock on the target (core/redis/run-lock.ts runLockKey)
  KEYS[4]  the target's index of ledgers (a set of ledger key names, core/transfer/ledger-index.ts)
  ARGV[1]  the writing run's id (the lock's runId)
  ARGV[2]  its execution's generation: when it planned (epoch ms, the lock's plannedAt) and,
           after a space, which execution planned (plannedBy), or '' when unknown
           (lib/claim-lock.lua lockTaken)
  ARGV[3…] triples: the claimed entry's ledger id (`<batch>:<sha1 of the member>`, see
           core/transfer/ledger-id.ts), member, score (as claimed: the same double)

  Refused before any write (guards.lua), nothing written, when the ledger is not a set, the
  target not a sorted set, the lock not a string, the index not a set, or a score is not one ZADD takes.

  Returns  { written, already, i… }: entries added now; entries the ledger says were written
           before (a retried or resumed batch); then the 1-based positions (among the triples)
           of the conflicts; or { -3 } when another run holds the lock (or it cannot be read),
           { -4 } when a later execution of the writing run does (nothing written)
]]
if redis.replicate_commands then redis.replicate_commands() end -- TIME before a write (Redis < 5)
local ledger, set, lock, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { ledger, 'TYPE', 'SMISMEMBER', 'SADD', 'PERSIST' }, { set, 'TYPE', 'ZMSCORE', 'ZADD' }, { lock, 'TYPE', 'GET' }, { index, 'TYPE', 'SADD' }, { false, 'TIME' } })
if refused then return refused end
local refusal = wrongType({ { ledger, 'set' }, { set, 'zset' }, { lock, 'string' }, { index, 'set' } }) or badScore(5, 3)
if refusal then return refusal end
-- lockTaken (lib/claim-lock.lua): another run's lock on the target, or a later execution's.
local taken = lockTaken(lock, ARGV[1], ARGV[2])
if taken then return { taken } end
-- Whether the run lock's record names `runId` (read only: GET).
local function lockHeldBy(lockKey, runId)
  local current = redis.call('GET', lockKey)
  if not current then return false end
  local ok, holder = pcall(cjson.decode, current)
  return ok and type(holder) == 'table' and holder.runId == runId
end
-- Decided first, written after, in a few variadic commands (lib/variadic.lua) rather than three
-- calls per entry: exactly what the entries' one-by-one SISMEMBER, ZADD NX, SADD would do in
-- order. An entry is a duplicate when its id is in the ledger or was written by an earlier entry
-- of this call; a conflict when its member is in the target set or was written by an earlier
-- entry of this call (ZADD NX would add nothing); else written.
local ids, members = {}, {}
for i = 3, #ARGV, 3 do
  ids[#ids + 1] = ARGV[i]
  members[#members + 1] = ARGV[i + 1]
end
local known = variadicArray('SMISMEMBER', ledger, ids)
local present = variadicArray('ZMSCORE', set, members)
local written, already = 0, 0
local conflicts = {}
local writtenIds, scored = {}, {}
local idWritten, memberWritten = {}, {}
for p = 1, #ids do
  local id, member = ids[p], members[p]
  if known[p] == 1 or idWritten[id] then
    already = already + 1
  elseif present[p] or memberWritten[member] then
    conflicts[#conflicts + 1] = p
  else
    idWritten[id], memberWritten[member] = true, true
    writtenIds[#writtenIds + 1] = id
    scored[#scored + 1] = ARGV[2 + 3 * p]
    scored[#scored + 1] = member
    written = written + 1
  end
end
-- The guards are done: the ledger's name in the index first (any write of the ledger below).
redis.call('SADD', index, ledger)
-- NX as before: nothing above lets an equal member through, and NX keeps it so.
for first = 1, #scored, VARIADIC_CHUNK do
  redis.call('ZADD', set, 'NX', unpack(scored, first, math.min(#scored, first + VARIADIC_CHUNK - 1)))
end
variadic('SADD', ledger, writtenIds)
-- The TTL goes when this call wrote to the ledger, or while the writing run holds the lock (its
-- record's runId: lockTaken above let the call through, so no later execution's); not for a call
-- that wrote nothing after the run let its lock go (see the header).
if #writtenIds > 0 or lockHeldBy(lock, ARGV[1]) then redis.call('PERSIST', ledger) end
local reply = { written, already }
for _, position in ipairs(conflicts) do reply[#reply + 1] = position end
return reply
