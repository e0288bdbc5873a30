--[[
  Ends a run's bookkeeping on the source: deletes the run's list and executions and releases the
  run's lock, unless a later start of the run superseded the execution that ends it, in one step.
  Called by the last execution of a run to summarize (its executions are empty by then), and by a
  plan that fails once it holds the lock. A later start (`start --resume`, a retried plan task)
  takes the lock before it writes its own list and executions (under the same keys, the run's
  id), so a later plannedAt on the lock means they are the later execution's: all are left to it.

  KEYS[1]  the run lock (string: the holder record, JSON, see acquireRunLock-5.lua)
  KEYS[2]  the run's list of work (a list)
  KEYS[3]  the run's executions (a hash, core/workflow/run-executions.ts)
  ARGV[1]  the run's id
  ARGV[2]  when the ending execution planned (epoch ms), or '' when unknown
  ARGV[3]  the ARN of the execution whose plan ends it (plannedBy), or '' (absent) when unknown:
           when given, a lock of this run naming another one is another start's too, whatever
           the clocks say (two plans of the run in the same millisecond)

  Returns  { 1 } the list and executions deleted and the lock released; { 0 } the same, no lock of this
           run to release (it expired and another run took it, or it is gone); { 3, the later
           plannedAt } a later start of the run holds its lock (nothing changed)
]]
-- Every command this call may run, on every key, before anything else (guards.lua).
local refused = refusedCommand({ { KEYS[1], 'TYPE', 'GET', 'DEL' }, { KEYS[2], 'TYPE', 'DEL' }, { KEYS[3], 'TYPE', 'DEL' } })
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'string' }, { KEYS[2], 'list' }, { KEYS[3], 'hash' } })
if refusal then return refusal end
local current = redis.call('GET', KEYS[1])
local held = false
if current then
  local ok, holder = pcall(cjson.decode, current)
  if ok and type(holder) == 'table' and holder.runId == ARGV[1] then
    held = true
    local later, asked = tonumber(holder.plannedAt), tonumber(ARGV[2])
    if later and asked and later > asked then return { 3, later } end
    local by = ARGV[3] ~= nil and ARGV[3] ~= '' and ARGV[3] or nil
    if by and type(holder.plannedBy) == 'string' and holder.plannedBy ~= by then return { 3, later or 0 } end
  end
end
redis.call('DEL', KEYS[2], KEYS[3])
if not held then return { 0 } end
redis.call('DEL', KEYS[1])
return { 1 }
