--[[
  A transfer's plan, holding the run lock (core/transfer/other-runs-passes.ts), deletes the pass
  counts (core/transfer/transfer-keys.ts originalsKey) of OTHER runs that its one walk of the
  source's keyspace found (core/workflow/plan-walk.ts), each only when nothing of that run is in
  flight for that key. A run killed between two slices and then passed by (the runbook's way past a
  dead run: run again once its lock expired) left one per key whose pass it had begun, no expiry:
  the last summary found those of keys its ledgers name (ledgers-left.ts), but a `--classes` pass
  whose first claims took nothing writes its count with no batch and no ledger, and a look for them
  over the whole source at every summary costs a walk of the keyspace the plan makes anyway.

  Another run's count is read by nothing of this run, nor by a later start of that run (a pass's
  first claim takes only its own generation's count: claimQueueJobs-14.lua, claimSetEntries-16.lua,
  claimSelectedQueueJobs-11.lua, selective-set-transfer.ts startCursor), and while this start holds
  the lock no claim of another run goes through (lib/claim-lock.lua). Only while the lock is still
  this start's exactly (lib/run-generation.lua plannerLost): a plan paused past its lock deletes
  nothing. A count beside an in-flight key of its run is kept: the jobs in flight are that run's
  pass's, finished by the next resume (resume-inflight.ts), which ends the pass.

  KEYS[1]        the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[2n]       another run's pass count (string, `<prefix>sidekiq-migrate:<run>:originals:<key>`)
  KEYS[2n+1]     that run's in-flight key for the same source key (`…:<run>:inflight:<key>`: a
                 list or a sorted set, or none)
  ARGV[1]        this run's id
  ARGV[2]        when this start planned (epoch ms: the plannedAt it wrote into the lock)
  ARGV[3]        the execution that planned (plannedBy), or '' (none)

  Returns  { 1, n } n counts deleted; { 3, lock record } another start of this run holds the lock,
           { 4, lock record } another run's or unreadable, { 4 } gone: nothing deleted

  Refused before any write (guards.lua) when KEYS[1] or a count is not a string. Only GET, EXISTS
  and DEL: commands a run's user is already checked for (command-permissions.ts).
]]
if #KEYS % 2 ~= 1 then return redis.error_reply('ERR forgetOtherRunsPasses: expected the lock, then count / in-flight key pairs') end
-- Every command this call may run, on every key, before anything else (guards.lua).
local checks = { { KEYS[1], 'TYPE', 'GET' } }
for i = 2, #KEYS, 2 do
  checks[#checks + 1] = { KEYS[i], 'TYPE', 'DEL' }
  checks[#checks + 1] = { KEYS[i + 1], 'EXISTS' }
end
local refused = refusedCommand(checks)
if refused then return refused end
local types = { { KEYS[1], 'string' } }
for i = 2, #KEYS, 2 do types[#types + 1] = { KEYS[i], 'string' } end
local refusal = wrongType(types)
if refusal then return refusal end
local lost = plannerLost(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) -- lib/run-generation.lua
if lost then return lost end
local deleted = 0
for i = 2, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then deleted = deleted + redis.call('DEL', KEYS[i]) end
end
return { 1, deleted }
