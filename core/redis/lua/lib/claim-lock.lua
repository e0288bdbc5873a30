--[[
  Prepended to every script by core/redis/lua-script.ts, after variadic.lua. Used by a transfer's
  slice claims on the source (claimQueueJobs-14.lua, claimSetEntries-16.lua, claimSelected*-11.lua:
  lockTaken and lockGone) and its writes to the
  target (copyJobsToLists-n4.lua, copyEntriesToSet-6.lua), which see a lock taken between two slices
  of a page on either server: a page task renews the run's locks once a page, not once a slice.

  lockTaken(lockKey, runId, generation)
  generation: when the caller's execution planned (epoch ms, the lock's plannedAt), optionally
           followed by one space and the execution that planned (the lock's plannedBy: an ARN, a
           local execution's name; no spaces); '' when unknown (core/redis/generation-arg.ts)
  Returns  -3 when the run lock (lockKey, the holder record: JSON, see acquireRunLock-5.lua) is held
           by another run, not expired, or is unreadable; -4 when a later execution of this run
           holds it (its plannedAt later than the caller's, when both are known; or the same one
           and another plannedBy, when both carry one: two starts of the run in one millisecond);
           nil otherwise. A
           lock that is gone, or another run's past its expiry, is not refused here (a write lets
           what is already in flight reach the target); the claims refuse it (lockGone below).
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

--[[
  lockGone(lockKey, runId, generation)
  Returns  -5 when the caller's generation is known (not '': its execution planned under the run
           lock, core/redis/generation-arg.ts) and the run lock (lockKey) is not the run's: gone
           (the run's summary, a stop or a clean-up released it) or another run's past its expiry
           (lockTaken refused it while it was live); nil otherwise, and always when the generation
           is unknown (a caller that claims without a lock: tests, an older version's settings).
           Used by the claims after lockTaken: a page task's stale attempt that started while the
           run held its locks (Lambda retried after Lambda.ServiceException while the first attempt
           still runs) may claim its next slice after the run ended; claimed then, the jobs (what
           arrived after the run's end) left the old Redis for an in-flight key that no live run
           finishes (no TTL there, out of every fetcher's reach) or for the new Redis after the
           summary said what stayed (test/workflow/stale-claim-after-run-ended.test.ts). What is
           already in flight is not a claim's to refuse: a write finishes it (lockTaken only).
  Reads only (GET): call it before a script's first write.
]]
local function lockGone(lockKey, runId, generation)
  if (generation or '') == '' then return nil end
  local current = redis.call('GET', lockKey)
  if not current then return -5 end
  local ok, holder = pcall(cjson.decode, current)
  if ok and type(holder) == 'table' and holder.runId ~= runId then return -5 end
  return nil
end
