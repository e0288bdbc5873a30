--[[
  Stores what a new start of a run planned, on the source, in one step and only while the run's
  lock is still this plan's (core/workflow/store-run-plan.ts): its routing and its selection of
  classes (when it has them: left as they are otherwise, as the run's settings do not read
  them), its list of sets and queues, and its executions (only the root: a new start of the run).
  A plan paused after it took the lock, while a later start of the run (a retried plan task,
  `start --resume` with other options) took it and planned, must not write its own over the later
  plan's: that plan's continuations would read this plan's list, its pages this plan's routing
  (refused by their digests, the run stopped), and its executions would lose the continuations
  it announced, so that an execution would count itself last while another still runs.

  KEYS[1]  the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[2]  the run's list of work (a list of JSON items, core/workflow/work-list.ts)
  KEYS[3]  the run's executions (a hash, core/workflow/run-executions.ts)
  KEYS[4]  the run's stored routing (a string, core/workflow/stored-routing.ts)
  KEYS[5]  the run's stored selection of classes (a string, core/workflow/stored-selection.ts)
  ARGV[1]  the run's id
  ARGV[2]  when this plan planned (epoch ms: the plannedAt it wrote into the lock)
  ARGV[3]  the ARN of its execution (plannedBy), or '' (none)
  ARGV[4]  the list's, the executions', the routing's and the selection's time to live, seconds
  ARGV[5]  the root execution's name (core/workflow/run-executions.ts ROOT_EXECUTION)
  ARGV[6]  the routing to store (JSON), or '' (none: the key is left alone)
  ARGV[7]  the selection to store (JSON), or '' (none: the key is left alone)
  ARGV[8…] the list's items, in order (none: an empty list, no key)

  Returns  { 1 } stored; { 3, lock record } another start of the run holds the lock, { 4, lock
           record } another run's or unreadable, { 4 } gone (lib/run-generation.lua
           plannerLost): nothing written
  Refused before any write (guards.lua) when the lock is not a string, the list not a list or the
  executions not a hash (SET replaces a key of any type: the routing and selection need none).
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'GET' }, { KEYS[2], 'TYPE', 'DEL', 'RPUSH', 'EXPIRE' }, { KEYS[3], 'TYPE', 'DEL', 'HSET', 'EXPIRE' }, { KEYS[4], 'SET' }, { KEYS[5], 'SET' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'string' }, { KEYS[2], 'list' }, { KEYS[3], 'hash' } })
if refusal then return refusal end
-- Checked before any write: an EXPIRE refused after the list was written would leave it for good.
-- Version 6 took any whole number (a SET … EX above its bound, ~9.2e15 s, then failed at the first
-- write, or, with no routing or classes, the EXPIREs after the list's RPUSH; guards.lua badTtl).
local badTtlReply = badTtl('storeRunPlan', 4)
if badTtlReply then return badTtlReply end
local ttl = ARGV[4]
local lost = plannerLost(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) -- lib/run-generation.lua
if lost then return lost end
if ARGV[6] ~= '' then redis.call('SET', KEYS[4], ARGV[6], 'EX', ttl) end
if ARGV[7] ~= '' then redis.call('SET', KEYS[5], ARGV[7], 'EX', ttl) end
redis.call('DEL', KEYS[2], KEYS[3])
if #ARGV >= 8 then
  local items = {}
  for i = 8, #ARGV do items[#items + 1] = ARGV[i] end
  variadic('RPUSH', KEYS[2], items)
  redis.call('EXPIRE', KEYS[2], ttl)
end
redis.call('HSET', KEYS[3], ARGV[5], '1')
redis.call('EXPIRE', KEYS[3], ttl)
return { 1 }
