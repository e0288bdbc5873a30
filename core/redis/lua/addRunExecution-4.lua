--[[
  Adds an execution about to start (an item's or the list's continuation) to the run's executions
  (core/workflow/run-executions.ts), unless a later start of the run superseded the execution that
  adds it: one step, so that a later start (`start --resume`) that plans between a look at the
  lock and the add does not get a continuation of the superseded execution among its executions
  (its summary would never be the last one: the run's lock, list and executions would stay until
  the lock expired, 20 minutes, blocking the next run). Idempotent: a retried step adds it again.

  KEYS[1]  the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[2]  the run's executions (hash: execution name → '1')
  ARGV[1]  the run's id
  ARGV[2]  the name of the execution to add
  ARGV[3]  when the adding execution planned (epoch ms), or '' when unknown (an older version's
           settings: never superseded)
  ARGV[4]  the executions record's time to live, in seconds (1 to 10^15: refused, nothing written,
           otherwise; guards.lua badTtl)
  ARGV[5]  the execution whose plan the adding execution belongs to (plannedBy), or '' (absent)
           when unknown: a lock with the same plannedAt naming another is a later start's too
           (two starts of the run in one millisecond)

  Returns  { 1 } when added (or already there); { 3, the later plannedAt } when a later start of
           the run holds its lock (nothing changed)
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'GET' }, { KEYS[2], 'TYPE', 'HSET', 'EXPIRE' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'string' }, { KEYS[2], 'hash' } })
if refusal then return refusal end
-- EXPIRE came after the HSET: version 3 added the execution, then failed on a time to live EXPIRE
-- refuses, or (0 or less) deleted the whole record of executions (guards.lua badTtl).
local badTtlReply = badTtl('addRunExecution', 4)
if badTtlReply then return badTtlReply end
local later = laterStart(KEYS[1], ARGV[1], ARGV[3], ARGV[5]) -- lib/run-generation.lua
if later then return { 3, later } end
redis.call('HSET', KEYS[2], ARGV[2], '1')
redis.call('EXPIRE', KEYS[2], ARGV[4])
return { 1 }
