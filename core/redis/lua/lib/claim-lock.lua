--[[
  Prepended to every script by core/redis/lua-script.ts, after variadic.lua. Used by a transfer's
  slice claims on the source (claimQueueJobs-11.lua, claimSetEntries-13.lua) and its writes to the
  target (copyJobsToLists-n4.lua, copyEntriesToSet-6.lua), which see a lock taken between two slices
  of a page on either server: a page task renews the run's locks once a page, not once a slice.

  lockTaken(lockKey, runId, generation)
  generation: when the caller's execution planned (epoch ms, the lock's plannedAt), optionally
           followed by one space and the execution that planned (the lock's plannedBy: an ARN, a
           local execution's name; no spaces); '' when unknown (core/redis/generation-arg.ts)
  Returns  -3 when the run lock (lockKey, the holder record: JSON, see acquireRunLock-3.lua) is held
           by another run, not expired, or is unreadable; -4 when a later execution of this run
           holds it (its plannedAt later than the caller's, when both are known; or the same one
           and another plannedBy, when both carry one: two starts of the run in one millisecond);
           nil otherwise. A
           lock that is gone, or another run's past its expiry, is not refused here: the page's
           renewal at its end fails the task (the run lost its lock, RunLockLostError), after at
           most the page's remaining slices, each still claimed, written and acknowledged whole
           (no other run can be working those keys then: none holds the lock).
  Reads only (GET, TIME): call it before a script's first write.
]]
local function lockTaken(lockKey, runId, generation)
  local space = string.find(generation, ' ', 1, true)
  local plannedAt = space and string.sub(generation, 1, space - 1) or generation
  local plannedBy = space and string.sub(generation, space + 1) or nil
  local current = redis.call('GET', lockKey)
  if not current then return nil end
  local ok, holder = pcall(cjson.decode, current)
  if not (ok and type(holder) == 'table') then return -3 end
  if holder.runId ~= runId then
    local clock = redis.call('TIME')
    local expiresAt = tonumber(holder.expiresAt)
    if expiresAt and expiresAt <= tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) then return nil end
    return -3
  end
  local mine, theirs = tonumber(plannedAt), tonumber(holder.plannedAt)
  if mine ~= nil and theirs ~= nil and theirs > mine then return -4 end
  if mine ~= nil and mine == theirs and plannedBy and type(holder.plannedBy) == 'string' and holder.plannedBy ~= plannedBy then return -4 end
  return nil
end
