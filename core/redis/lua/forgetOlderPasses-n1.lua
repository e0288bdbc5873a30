--[[
  A resumed re-route's plan, holding the run's lock (core/workflow/older-starts.ts: the records its
  one walk of the keyspace found) deletes the pass records (core/reroute/pass-record.ts) that an earlier start of the
  run left: a process killed between a queue's last moving call and the call that ends its pass
  (endQueuePass-5.lua, its own round trip) leaves its queue's record, no expiry; when the queue is
  empty by then, the resumed run has no item for it and nothing else would ever delete it.

  Only while the run's lock is still this start's, exactly (lib/run-generation.lua plannerLost): a
  later start of the run (which overwrites a record of another generation, and reads only its own)
  keeps every record. Only a record of another generation than this start's: one of its own is its
  own pass's (left by an item of this start that failed; a resume, a later start, ends it in turn).
  A record of an earlier generation is read by nothing of this start (passStart takes only its own
  generation's) and its own start's tasks can no longer renew the lock this start holds.

  KEYS[1]   the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[2…]  the run's pass records found (strings, `<prefix>sidekiq-migrate:<run>:originals:queue:NAME`)
  ARGV[1]   the run's id
  ARGV[2]   when this start planned (epoch ms: the plannedAt it wrote into the lock)
  ARGV[3]   the execution that planned (plannedBy), or '' (none)
  ARGV[4]   this start's generation as the records carry it (core/redis/generation-arg.ts)

  Returns  { 1, n } n records deleted; { 3, lock record } another start of the run holds the lock,
           { 4, lock record } another run's or unreadable, { 4 } gone: nothing deleted

  Refused before any write (guards.lua) when KEYS[1] or a record is not a string. Only GET and DEL:
  commands a run's user is already checked for (command-permissions.ts).
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local checks = { { KEYS[1], 'TYPE', 'GET' } }
for i = 2, #KEYS do checks[#checks + 1] = { KEYS[i], 'TYPE', 'GET', 'DEL' } end
local refused = refusedCommand(checks)
if refused then return refused end
local types = {}
for i = 1, #KEYS do types[i] = { KEYS[i], 'string' } end
local refusal = wrongType(types)
if refusal then return refusal end
local lost = plannerLost(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) -- lib/run-generation.lua
if lost then return lost end
local deleted = 0
for i = 2, #KEYS do
  -- The record's header: `<slice token> <k> <examined after> <generation>` (rerouteQueueJobs-n4.lua).
  local record = redis.call('GET', KEYS[i])
  local generation = record and string.match(record, '^%S+ %d+ %d+ ([^\n]*)\n')
  if generation and generation ~= ARGV[4] then
    redis.call('DEL', KEYS[i])
    deleted = deleted + 1
  end
end
return { 1, deleted }
