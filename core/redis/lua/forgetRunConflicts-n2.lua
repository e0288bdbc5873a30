--[[
  A new start of a run forgets the conflicts an earlier attempt of the run gave back (the plan
  step, core/workflow/steps/plan-step.ts: claimed again, they are found on the target again and
  given back, counted), only while the run's lock is still this plan's: a plan paused after it
  took the lock, while a later start of the run took it and its pages gave conflicts back, must
  not delete those (the later run's summary would not count them, and could say 'Complete' over
  jobs left on the source).

  KEYS[1]   the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[2…]  the run's conflicts keys to delete (core/transfer/transfer-keys.ts conflictsKey); or
            the run's started-with record, stored routing and selection, deleted by its first
            plan when that plan failed having moved nothing (core/workflow/store-run-plan.ts
            forgetStartedWith)
  ARGV[1]   the run's id
  ARGV[2]   when this plan planned (epoch ms: the plannedAt it wrote into the lock)
  ARGV[3]   the ARN of its execution (plannedBy), or '' (none)

  Returns  { 1 } deleted; { 3, lock record } another start of the run holds the lock, { 4, lock
           record } another run's or unreadable, { 4 } gone (lib/run-generation.lua
           plannerLost): nothing deleted
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local checks = { { KEYS[1], 'TYPE', 'GET' } }
for i = 2, #KEYS do checks[#checks + 1] = { KEYS[i], 'DEL' } end
local refused = refusedCommand(checks)
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'string' } })
if refusal then return refusal end
local lost = plannerLost(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) -- lib/run-generation.lua
if lost then return lost end
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return { 1 }
