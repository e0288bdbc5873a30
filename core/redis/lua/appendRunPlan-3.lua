--[[
  Appends a part of a plan's list of sets and queues to the run's list, after storeRunPlan-7.lua
  wrote its first part, only while the run's lock is still this plan's (core/workflow/
  store-run-plan.ts). A list of 10,000 queues pushed in one call held every other client of the
  source for 7–33 ms (issue #18: no call over 2 ms); the plan writes it PLAN_ITEMS_PER_CALL items a
  call. The list's length before this part is given: a part sent twice (a command resent on a
  reconnection) finds the list already past it and writes nothing; a list of another length (gone,
  or written by something else) is refused, nothing written.

  KEYS[1]  the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[2]  the run's list of work (a list of JSON items, core/workflow/work-list.ts)
  ARGV[1]  the run's id
  ARGV[2]  when this plan planned (epoch ms: the plannedAt it wrote into the lock)
  ARGV[3]  the ARN of its execution (plannedBy), or '' (none)
  ARGV[4]  the list's length before this part (the items the plan wrote before it)
  ARGV[5…] the part's items, in order

  Returns  { 1, length } appended, or already appended (the list's length is ARGV[4] plus the
           part's); { 5, length } the list has another length: nothing written; { 3, lock record }
           another start of the run holds the lock, { 4, lock record } another run's or unreadable,
           { 4 } gone (lib/run-generation.lua plannerLost): nothing written
  Refused before any write (guards.lua) when the lock is not a string or the list not a list.
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'GET' }, { KEYS[2], 'TYPE', 'LLEN', 'RPUSH' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'string' }, { KEYS[2], 'list' } })
if refusal then return refusal end
local lost = plannerLost(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) -- lib/run-generation.lua
if lost then return lost end
local before = tonumber(ARGV[4])
if not before or before < 1 or before ~= math.floor(before) then return redis.error_reply('ERR appendRunPlan: ARGV[4] must be a whole number above 0; nothing written') end
local length = redis.call('LLEN', KEYS[2])
local count = #ARGV - 4
if length == before + count then return { 1, length } end
if length ~= before then return { 5, length } end
local items = {}
for i = 5, #ARGV do items[#items + 1] = ARGV[i] end
variadic('RPUSH', KEYS[2], items)
return { 1, length + count }
