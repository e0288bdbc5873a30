--[[
  Writes claimed jobs to the target's queues, each at most once per run: a job is pushed only
  if its id was not yet in the run's ledger. Re-sending the same batch after a crash (copied,
  not yet acknowledged on the source) therefore writes nothing twice.

  The ledger has no TTL here (and loses one an older version gave it): under the volatile-*
  eviction policies only keys with a TTL are evicted, and a ledger evicted while its entries are
  in flight would let them be written twice. Its TTL is set once nothing it records can be in
  flight any more (core/transfer/retire-ledger.ts).

  Nothing is written while another run, or a later execution of the writing run, holds the run
  lock on the target (KEYS[3], lib/claim-lock.lua lockTaken): a page task renews the run's locks
  once a page of several slices (core/workflow/steps/page-step.ts), and a lock the run lost
  between two slices (it expired, another run took it) is seen here, before the slice writes to a
  target that run now owns. The slice then stays in flight on the source, whole, for the resume.
  The writing run is the one that holds the lock (a resume writes another run's leftovers under
  that run's ledger, but under its own lock).

  KEYS[1]      the run's ledger for this source queue: a set of the ids of the claimed entries
               written (core/transfer/ledger-id.ts)
  KEYS[2]      the target's set of queue names (queues)
  KEYS[3]      the run lock on the target (core/redis/run-lock.ts runLockKey)
  KEYS[4..]    destination lists on the target
  ARGV[1]      'RPUSH' (ahead of the target's backlog) or 'LPUSH' (behind it)
  ARGV[2]      D, the number of destination keys
  ARGV[3..2+D] their queue names, in KEYS order, added to `queues` when they receive a job
  ARGV[3+D]    the ledger id of the job just before this call's first one, when a batch is
               written in several calls (core/transfer/write-to-target.ts); '' for the first
  ARGV[4+D]    the writing run's id (the lock's runId)
  ARGV[5+D]    when its execution planned (epoch ms, the lock's plannedAt), or '' when unknown
  then         triples: the claimed entry's ledger id (`<batch>:<position>`), payload,
               destination index (1-based)

  Refused before any write (guards.lua), nothing written, when the ledger or `queues` is not a
  set, the lock not a string or a destination not a list; and, with 'TRYAGAIN …', when ARGV[3+D]
  is not in the ledger: the job before this call's was never pushed (the call before this one in
  the same pipeline failed), and pushing these now would put them ahead of it in the queue.
  Retrying the batch writes them in order. Refused too when a destination index is not one of 1..D.

  Returns      { already, written_1, …, written_D }: jobs the ledger says were written before (a
               retried or resumed batch), and jobs pushed to each destination; or { -3 } when
               another run holds the lock (or it cannot be read), { -4 } when a later execution
               of the writing run does (nothing written; looked at before the TRYAGAIN check)
]]
if redis.replicate_commands then redis.replicate_commands() end -- TIME before a write (Redis < 5)
local ledger, queues, lock = KEYS[1], KEYS[2], KEYS[3]
local push = ARGV[1]
if push ~= 'RPUSH' and push ~= 'LPUSH' then
  return redis.error_reply('ERR copyJobsToLists: ARGV[1] must be RPUSH or LPUSH')
end
local destinations = tonumber(ARGV[2])
local checks = { { ledger, 'set' }, { queues, 'set' }, { lock, 'string' } }
for d = 1, destinations do checks[#checks + 1] = { KEYS[3 + d], 'list' } end
local refusal = wrongType(checks)
if refusal then return refusal end
-- lockTaken (lib/claim-lock.lua): another run's lock on the target, or a later execution's.
local taken = lockTaken(lock, ARGV[4 + destinations], ARGV[5 + destinations])
if taken then return { taken } end
local after = ARGV[3 + destinations]
if after ~= '' and redis.call('SISMEMBER', ledger, after) == 0 then
  return redis.error_reply('TRYAGAIN copyJobsToLists: the job before this call\'s (' .. after .. ') was not written; nothing written')
end
-- Decided first, written after, in a few variadic commands (lib/variadic.lua) rather than two
-- calls per job: exactly what the jobs' one-by-one SADD-then-push would do. A job is a duplicate
-- when its id is in the ledger or was written by an earlier job of this call; each destination
-- receives its jobs in the call's order in one push (RPUSH a b = RPUSH a, RPUSH b; so for LPUSH).
local ids = {}
for i = 6 + destinations, #ARGV, 3 do
  local dest = tonumber(ARGV[i + 2])
  -- Checked before any write: a bad index would fail the push after the ledger recorded the job.
  if dest == nil or dest < 1 or dest > destinations or dest % 1 ~= 0 then
    return redis.error_reply('ERR copyJobsToLists: destination index ' .. ARGV[i + 2] .. ' is not one of 1..' .. destinations .. '; nothing written')
  end
  ids[#ids + 1] = ARGV[i]
end
local known = variadicArray('SMISMEMBER', ledger, ids)
local already = 0
local written, payloads = {}, {}
for d = 1, destinations do written[d], payloads[d] = 0, {} end
local idWritten, writtenIds = {}, {}
local p = 0
for i = 6 + destinations, #ARGV, 3 do
  p = p + 1
  local id, dest = ARGV[i], tonumber(ARGV[i + 2])
  if known[p] == 1 or idWritten[id] then
    already = already + 1
  else
    idWritten[id] = true
    writtenIds[#writtenIds + 1] = id
    local list = payloads[dest]
    list[#list + 1] = ARGV[i + 1]
    written[dest] = written[dest] + 1
  end
end
variadic('SADD', ledger, writtenIds)
local reply = { already }
for d = 1, destinations do
  variadic(push, KEYS[3 + d], payloads[d])
  if written[d] > 0 then redis.call('SADD', queues, ARGV[2 + d]) end
  reply[d + 1] = written[d]
end
redis.call('PERSIST', ledger)
return reply
