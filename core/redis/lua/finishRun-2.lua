--[[
  The last execution of a run to summarize: deletes the run's list and releases the run's lock on
  the source, unless a later start of the run superseded it, in one step. A later start takes the
  lock before it writes its own list (under the same key, the run's id), so a later plannedAt on
  the lock means the list is the later execution's: both are left to it.

  KEYS[1]  the run lock (string: the holder record, JSON, see acquireRunLock-2.lua)
  KEYS[2]  the run's list of work (a list; nothing reads it once the last execution summarizes)
  ARGV[1]  the run's id
  ARGV[2]  when the finishing execution planned (epoch ms), or '' when unknown

  Returns  { 1 } the list deleted and the lock released; { 0 } the list deleted, no lock of this
           run to release (it expired and another run took it, or it is gone); { 3, the later
           plannedAt } a later start of the run holds its lock (nothing changed)
]]
local refusal = wrongType({ { KEYS[1], 'string' }, { KEYS[2], 'list' } })
if refusal then return refusal end
local current = redis.call('GET', KEYS[1])
local held = false
if current then
  local ok, holder = pcall(cjson.decode, current)
  if ok and type(holder) == 'table' and holder.runId == ARGV[1] then
    held = true
    local later, asked = tonumber(holder.plannedAt), tonumber(ARGV[2])
    if later and asked and later > asked then return { 3, later } end
  end
end
redis.call('DEL', KEYS[2])
if not held then return { 0 } end
redis.call('DEL', KEYS[1])
return { 1 }
