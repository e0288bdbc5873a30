--[[
  Writes claimed jobs to the target's queues, each at most once per run. A queue batch is written
  in order (its in-flight list keeps claim order, and a call whose previous job was not written is
  refused, below), so the jobs of a batch written so far are always its first ones: the run's
  ledger keeps one number a batch, how many of its jobs are written (a "ledger by position"),
  rather than one id a job. A job is pushed only if its position is at or past that number.
  Re-sending the same batch after a crash (copied, not yet acknowledged on the source), or its
  rest by a resume, therefore writes nothing twice.

  A ledger an older version made is a set of ids (`<batch>:<position>`, core/transfer/ledger-id.ts):
  a run resumed by this version after one of those wrote part of a batch. Such a ledger is kept
  as it is, and written as that version wrote it (an id a job), for every batch of its key: its ids
  are what tells which of those jobs were written.

  The ledger has no TTL here (and loses one an older version gave it): under the volatile-*
  eviction policies only keys with a TTL are evicted, and a ledger evicted while its entries are
  in flight would let them be written twice. Its TTL is set once nothing it records can be in
  flight any more (core/transfer/retire-ledger.ts). A call that writes nothing to the ledger (it
  finds every job written before) while the run lock on the target is not the writing run's (gone:
  the run ended and released it, or expired) leaves the ledger's TTL as it is (copyJobsToLists-n3
  took it off: a page task's attempt that Step Functions gave up on and that still copied after the
  run ended left the run's retired ledger without a TTL, overlapping-page-attempts.test.ts).
  Before it is written, its name goes into the
  target's index of ledgers that may have no TTL (KEYS[4], core/transfer/ledger-index.ts), in this
  same call: a ledger without a TTL is never missing from the index, so the last execution of a
  later transfer finds it there without walking the target's keyspace (core/transfer/ledgers-left.ts).
  Its numbers stay until then: an attempt that
  read a batch before another attempt wrote and acknowledged it may still send it.

  Nothing is written while another run, or a later execution of the writing run, holds the run
  lock on the target (KEYS[3], lib/claim-lock.lua lockTaken): a page task renews the run's locks
  once a page of several slices (core/workflow/steps/page-step.ts), and a lock the run lost
  between two slices (it expired, another run took it) is seen here, before the slice writes to a
  target that run now owns. The slice then stays in flight on the source, whole, for the resume.
  The writing run is the one that holds the lock (a resume writes another run's leftovers under
  that run's ledger, but under its own lock).

  KEYS[1]      the run's ledger for this source queue: a hash, batch id → how many of the batch's
               jobs (from position 0, in order) are written; or an older version's set of ids
  KEYS[2]      the target's set of queue names (queues)
  KEYS[3]      the run lock on the target (core/redis/run-lock.ts runLockKey)
  KEYS[4]      the target's index of ledgers (a set of ledger key names, core/transfer/ledger-index.ts)
  KEYS[5..]    destination lists on the target
  ARGV[1]      'RPUSH' (ahead of the target's backlog) or 'LPUSH' (behind it)
  ARGV[2]      D, the number of destination keys
  ARGV[3..2+D] their queue names, in KEYS order, added to `queues` when they receive a job
  ARGV[3+D]    the batch id (as claimed, without `+base`: ledger-id.ts parseBatch)
  ARGV[4+D]    the position in the batch of this call's first job (an integer >= 0)
  ARGV[5+D]    'after' when the job before it is written by an earlier call of the same write (a
               batch written in several calls, core/transfer/write-to-target.ts); '' for the first
  ARGV[6+D]    the writing run's id (the lock's runId)
  ARGV[7+D]    its execution's generation: when it planned (epoch ms, the lock's plannedAt)
               and, after a space, which execution planned (plannedBy), or '' when unknown
               (lib/claim-lock.lua lockTaken)
  then         pairs, the call's jobs at consecutive positions: payload, destination index (1-based)

  A write's first call starts at the batch's first position not yet acknowledged (the claim read
  both at once); every job before it was written before it was acknowledged, so a number below
  that position (a ledger lost: evicted or deleted) is raised to the end of the call, as the ids
  of those jobs would not be there either: they are written as an id ledger would write them.

  Refused before any write (guards.lua), nothing written, when the ledger is neither a hash nor a
  set, `queues` not a set, the lock not a string, the index not a set or a destination not a list; and, with
  'TRYAGAIN …', when ARGV[5+D] is 'after' and the job before this call's was not written (the
  call before this one in the same pipeline failed): pushing these now would put them ahead of it
  in the queue. Retrying the batch writes them in order. Refused too when a destination index is
  not one of 1..D, or the position not an integer >= 0.

  Returns      { already, written_1, …, written_D }: jobs the ledger says were written before (a
               retried or resumed batch), and jobs pushed to each destination; or { -3 } when
               another run holds the lock (or it cannot be read), { -4 } when a later execution
               of the writing run does (nothing written; looked at before the TRYAGAIN check)
]]
if redis.replicate_commands then redis.replicate_commands() end -- TIME before a write (Redis < 5)
local ledger, queues, lock, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local wroteLedger = false -- this call wrote an entry to the ledger (then its TTL goes, whoever holds the lock)
local push = ARGV[1]
if push ~= 'RPUSH' and push ~= 'LPUSH' then
  return redis.error_reply('ERR copyJobsToLists: ARGV[1] must be RPUSH or LPUSH')
end
local destinations = tonumber(ARGV[2])
-- Every command this call may run, on every key, before anything else (guards.lua).
-- The ledger's commands for either kind; both pushes on every destination (the start-up check asks for both).
local commands = { { ledger, 'TYPE', 'SISMEMBER', 'SMISMEMBER', 'SADD', 'HGET', 'HSET', 'PERSIST' }, { queues, 'TYPE', 'SADD' }, { lock, 'TYPE', 'GET' }, { index, 'TYPE', 'SADD' }, { false, 'TIME' } }
for d = 1, (tonumber(destinations) or 0) do commands[#commands + 1] = { KEYS[4 + d], 'TYPE', 'RPUSH', 'LPUSH' } end
local refused = refusedCommand(commands)
if refused then return refused end
-- The ledger: a hash (by position), an older version's set (by id), or none yet (a hash).
local ledgerType = redis.call('TYPE', ledger)['ok']
local byId = ledgerType == 'set'
if not byId and ledgerType ~= 'hash' and ledgerType ~= 'none' then
  return redis.error_reply('WRONGTYPE sidekiq-migrate ' .. ledgerType .. ' hash ' .. ledger)
end
local checks = { { queues, 'set' }, { lock, 'string' }, { index, 'set' } }
for d = 1, destinations do checks[#checks + 1] = { KEYS[4 + d], 'list' } end
local refusal = wrongType(checks)
if refusal then return refusal end
-- lockTaken (lib/claim-lock.lua): another run's lock on the target, or a later execution's.
local taken = lockTaken(lock, ARGV[6 + destinations], ARGV[7 + destinations])
if taken then return { taken } end
-- Whether the run lock's record names `runId` (read only: GET).
local function lockHeldBy(lockKey, runId)
  local current = redis.call('GET', lockKey)
  if not current then return false end
  local ok, holder = pcall(cjson.decode, current)
  return ok and type(holder) == 'table' and holder.runId == runId
end
local batch, first = ARGV[3 + destinations], tonumber(ARGV[4 + destinations])
if first == nil or first < 0 or first % 1 ~= 0 then
  return redis.error_reply('ERR copyJobsToLists: the first position ' .. ARGV[4 + destinations] .. ' is not an integer >= 0; nothing written')
end
local chained = ARGV[5 + destinations] == 'after'
local jobsFrom = 8 + destinations
if (#ARGV - jobsFrom + 1) % 2 ~= 0 then
  return redis.error_reply('ERR copyJobsToLists: expected payload and destination index pairs; nothing written')
end
-- Checked before any write: a bad index would fail the push after the ledger recorded the job.
for i = jobsFrom + 1, #ARGV, 2 do
  local dest = tonumber(ARGV[i])
  if dest == nil or dest < 1 or dest > destinations or dest % 1 ~= 0 then
    return redis.error_reply('ERR copyJobsToLists: destination index ' .. ARGV[i] .. ' is not one of 1..' .. destinations .. '; nothing written')
  end
end
local count = math.floor((#ARGV - jobsFrom + 1) / 2)
local previous = batch .. ':' .. (first - 1)
-- known(p): whether the call's job p (1-based) was written before.
local known
local done = 0
if byId then
  if chained and redis.call('SISMEMBER', ledger, previous) == 0 then
    return redis.error_reply('TRYAGAIN copyJobsToLists: the job before this call\'s (' .. previous .. ') was not written; nothing written')
  end
  local ids = {}
  for p = 1, count do ids[p] = batch .. ':' .. (first + p - 1) end
  local member = variadicArray('SMISMEMBER', ledger, ids)
  known = function(p) return member[p] == 1 end
  local fresh = {}
  for p = 1, count do if member[p] ~= 1 then fresh[#fresh + 1] = ids[p] end end
  wroteLedger = #fresh > 0
  -- The guards are done: from here on, writes only; the ledger's name in the index first.
  redis.call('SADD', index, ledger)
  variadic('SADD', ledger, fresh)
else
  done = tonumber(redis.call('HGET', ledger, batch) or '0')
  if chained and done < first then
    return redis.error_reply('TRYAGAIN copyJobsToLists: the job before this call\'s (' .. previous .. ') was not written; nothing written')
  end
  known = function(p) return first + p - 1 < done end
  -- The guards are done: from here on, writes only; the ledger's name in the index first.
  redis.call('SADD', index, ledger)
  if first + count > done then
    redis.call('HSET', ledger, batch, first + count)
    wroteLedger = true
  end
end
-- Decided first, written after, in one push per destination (lib/variadic.lua) rather than a
-- call per job: each destination receives its jobs in the call's order (RPUSH a b = RPUSH a,
-- RPUSH b; so for LPUSH).
local already = 0
local written, payloads = {}, {}
for d = 1, destinations do written[d], payloads[d] = 0, {} end
local p = 0
for i = jobsFrom, #ARGV, 2 do
  p = p + 1
  if known(p) then
    already = already + 1
  else
    local dest = tonumber(ARGV[i + 1])
    local list = payloads[dest]
    list[#list + 1] = ARGV[i]
    written[dest] = written[dest] + 1
  end
end
local reply = { already }
for d = 1, destinations do
  variadic(push, KEYS[4 + d], payloads[d])
  if written[d] > 0 then redis.call('SADD', queues, ARGV[2 + d]) end
  reply[d + 1] = written[d]
end
-- The TTL goes when this call wrote to the ledger, or while the writing run holds the lock (its
-- record's runId: lockTaken above let the call through, so no later execution's); not for a call
-- that wrote nothing after the run let its lock go (see the header).
if wroteLedger or lockHeldBy(lock, ARGV[6 + destinations]) then redis.call('PERSIST', ledger) end
return reply
