--[[
  Ends an execution of a run among the run's executions (core/workflow/run-executions.ts) and
  counts those left, unless a later start of the run superseded it: one step, so that a later
  start (`start --resume`) that plans between a look at the lock and the end cannot have its own
  `root` ended by the superseded execution (which would make a later execution of it count itself
  last while a continuation still runs, and release the run's lock under it).

  A later start takes the run's lock (with its own plannedAt) before it writes the run's list and
  executions, so a lock of this run that carries a later plannedAt than the ending execution's is
  a later start's: nothing is ended.

  KEYS[1]  the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[2]  the run's executions (hash: execution name → '1')
  ARGV[1]  the run's id
  ARGV[2]  the name of the ending execution
  ARGV[3]  when the ending execution planned (epoch ms), or '' when unknown (an older version's
           settings: never superseded)
  ARGV[4]  the execution whose plan the ending execution belongs to (plannedBy), or '' (absent)
           when unknown: a lock with the same plannedAt naming another is a later start's too
           (two starts of the run in one millisecond)

  Returns  { 1, executions left } when ended (0: it was the last one); { 3, the later plannedAt }
           when a later start of the run holds its lock (nothing changed)
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'GET' }, { KEYS[2], 'TYPE', 'HDEL', 'HLEN' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'string' }, { KEYS[2], 'hash' } })
if refusal then return refusal end
local later = laterStart(KEYS[1], ARGV[1], ARGV[3], ARGV[4]) -- lib/run-generation.lua
if later then return { 3, later } end
redis.call('HDEL', KEYS[2], ARGV[2])
return { 1, redis.call('HLEN', KEYS[2]) }
