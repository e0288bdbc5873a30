--[[
  Prepended to every script by core/redis/lua-script.ts, after claim-lock.lua. The look at the
  run lock (its holder record: JSON, see acquireRunLock-5.lua) of the steps that keep a run's
  bookkeeping: which start of the run holds it now. Each start of a run (a new execution, a
  retried plan task, `start --resume`) writes its own plannedAt (and its execution's ARN,
  plannedBy) into the lock before it writes anything else of the run; a step of an earlier start
  must not write over what the later one wrote under the same run id. Reads only (GET): call
  these before a script's first write.

  laterStart(lockKey, runId, plannedAt, plannedBy)
  Returns  the plannedAt of the lock's holder when the lock is this run's and carries a later one
           than `plannedAt` (a later start of the run superseded the caller's), or the same one
           from another execution (`plannedBy` given, nil or '' for none, and the holder's named
           and another: two starts of the run in one millisecond, or on clocks that differ by the
           time between them, cannot be told apart by plannedAt; the one holding the lock keeps
           it); nil otherwise, and when `plannedAt` is not a number ('': unknown, an older
           version's settings).

  plannerLost(lockKey, runId, plannedAt, plannedBy)
  For a plan step's writes after it took the lock: it must still be the plan's, exactly.
  Returns  nil when the lock's record names `runId`, the same plannedAt and the same plannedBy
           ('': none) — expired or not: nobody took it since (taking rewrites the record,
           releasing deletes it); otherwise the reply to return at once, nothing written:
           { 3, record } another start of this run holds it (another plannedAt or plannedBy),
           { 4, record } another run's, or unreadable; { 4 } it is gone.
]]
local function laterStart(lockKey, runId, plannedAt, plannedBy)
  local asked = tonumber(plannedAt)
  local current = asked and redis.call('GET', lockKey)
  if not current then return nil end
  local ok, holder = pcall(cjson.decode, current)
  local held = ok and type(holder) == 'table' and holder.runId == runId and tonumber(holder.plannedAt)
  if not held then return nil end
  if held > asked then return held end
  local other = type(plannedBy) == 'string' and plannedBy ~= '' and type(holder.plannedBy) == 'string' and holder.plannedBy ~= plannedBy
  if held == asked and other then return held end
  return nil
end

local function plannerLost(lockKey, runId, plannedAt, plannedBy)
  local current = redis.call('GET', lockKey)
  if not current then return { 4 } end
  local ok, holder = pcall(cjson.decode, current)
  if not (ok and type(holder) == 'table' and holder.runId == runId) then return { 4, current } end
  local by = type(holder.plannedBy) == 'string' and holder.plannedBy or ''
  if tonumber(holder.plannedAt) ~= tonumber(plannedAt) or by ~= plannedBy then return { 3, current } end
  return nil
end
