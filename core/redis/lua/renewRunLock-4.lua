--[[
  Renews the run lock, or releases it, only while this run holds it: a run whose lock expired
  and was taken by another run must neither extend nor delete the other run's lock. A renewal
  never takes a lock that is gone or another run's, even past its `expiresAt` (0): the lock was
  lost (it expired, another run took it, and released it or died), and that run may have worked
  the same keys meanwhile, so the renewing step ends after the page it is on rather than write
  more under a lock it re-created. A lock of this run past its `expiresAt` is renewed: nobody took
  it since (see acquireRunLock-5.lua, 'hold'). While the run's stop marker exists every renewal is
  refused, so that a step still running for a stopped run ends after the page it is on.

  'stop' cleans up after an execution of the run was stopped, timed out or failed: it sets the
  stop marker (unless ARGV[3] is 0: release only) and releases the lock if this run holds it. It
  does nothing when a newer execution of the run holds the lock (it planned after the ended one
  ended: the run was started again meanwhile, and must go on). When both the lock and the ended
  execution name the execution whose plan took the lock (`plannedBy`, ARGV[7]), that decides: the
  lock of another execution's plan is left alone (an old root execution redriven after a later
  start of the run ends after that start planned, and its input names no plannedAt), and the
  ended execution's own lock is released whatever the clocks say. With a marker (ARGV[3] > 0) and
  the ended execution named (ARGV[7]), it first records that execution's end (KEYS[3], its own key,
  with the marker's time to live), whatever it then does with the lock: also when a newer execution
  holds it (3). A plan of that execution still running takes no lock then (acquireRunLock-5.lua,
  { 5 }), even after the marker names a later end of the run, or was lifted by a later plan, or
  that newer execution released the lock. One key per ended execution: no end replaces another's,
  and each expires on its own.
  'renew', 'release' and 'stop' of a step that names when its execution planned (renew: the
  record's plannedAt; release, stop: ARGV[6]) do nothing when the lock of this run carries a later
  plannedAt, or the same one and another plannedBy (renew: the record's; both named): that
  execution was superseded by a later start of the run, whose lock it is (3).
  'resume' clears the marker for a new execution of the run, only while that execution holds the
  lock: a plan refused by another run's lock leaves a stopped run stopped. Given the plan's
  plannedAt and plannedBy (ARGV[6], ARGV[7]), only while the lock still carries exactly those
  (lib/run-generation.lua, plannerLost): a later start of the run that took it since, and was
  stopped since, stays stopped.

  The lock's expiry is in its value (`expiresAt`, epoch ms, see acquireRunLock-5.lua): renewing
  rewrites it; a lock of another run past its `expiresAt` counts as gone.

  KEYS[1]  the lock
  KEYS[2]  this run's stop marker
  KEYS[3]  stop: the ended-execution record of ARGV[7] (string, written over whatever is there),
           given when ARGV[7] is; absent otherwise
  ARGV[1]  this run's id
  ARGV[2]  'renew', 'release', 'stop' or 'resume'
  ARGV[3]  renew: how long the lock lives without renewal, in ms; stop: the marker's time to live
           in ms (0: no marker; the marker may have a TTL: evicting it only lets a step of a
           stopped run go on with its pages)
  ARGV[4]  renew: the renewing step's holder record (its plannedAt: when its execution planned);
           stop: when the ended execution ended (epoch ms), or '' when unknown
  ARGV[5]  stop: the marker's value (when and why the run was stopped)
  ARGV[6]  release, stop: when the ending execution planned (epoch ms), or '' (absent) when unknown;
           resume: when the resuming plan planned, or '' (absent): any holder of this run's id
  ARGV[7]  release: the ARN of the releasing execution's plan (plannedBy), or '' (absent) when
           unknown: a lock that names another is left alone (3);
           stop: the ARN of the execution whose plan the ended execution belongs to (a root
           execution's own; a continuation's settings name it), or '' (absent) when unknown;
           resume: the ARN of the resuming plan's execution, or '' (none)

  Returns  renew:   1 renewed; 0 this run lost the lock (gone, or another run's);
                    2 the run was stopped (nothing changed);
                    3 a later execution of this run holds the lock (nothing changed)
           release: 1 released; 0 nothing to release (not held by this run);
                    3 a later execution of this run holds the lock (nothing changed)
           stop:    1 marked (ARGV[3] > 0) and the lock released; 0 marked, no lock of this run to
                    release; 3 a newer execution of the run holds the lock (only the ended
                    execution's record written)
           resume:  1 the marker is cleared (or there was none); 0 this run does not hold the lock
                    (nothing changed); 3 another start of this run holds it (nothing changed)
]]
if redis.replicate_commands then redis.replicate_commands() end -- TIME before a write (Redis < 5)
local action = ARGV[2]
-- Every command this call may run, on every key, before anything else (guards.lua).
-- Per action: a release after a run failed for want of SET must still give the lock back.
local needs = {
  renew = { { KEYS[1], 'TYPE', 'GET', 'SET' }, { KEYS[2], 'EXISTS' }, { false, 'TIME' } },
  release = { { KEYS[1], 'TYPE', 'GET', 'DEL' } },
  -- stop with a time to live of 0 releases only: no marker written.
  stop = { { KEYS[1], 'TYPE', 'GET', 'DEL' }, { KEYS[2], (tonumber(ARGV[3] or '') or 1) > 0 and 'SET' or nil }, { KEYS[3], KEYS[3] and (tonumber(ARGV[3] or '') or 1) > 0 and 'SET' or nil } },
  resume = { { KEYS[1], 'TYPE', 'GET' }, { KEYS[2], 'DEL' } },
}
local refused = refusedCommand(needs[action] or {})
if refused then return refused end
local refusal = wrongType({ { KEYS[1], 'string' } })
if refusal then return refusal end
if action == 'renew' and redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
local current = redis.call('GET', KEYS[1])
local held, holder = false, nil
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and decoded.runId == ARGV[1] then held, holder = true, decoded end
end
local heldPlannedAt = held and tonumber(holder.plannedAt)
-- True when the ending/renewing execution planned before the one that holds the run's lock, or in
-- the same millisecond as another execution's plan that holds it (`plannedBy` and the lock's both
-- named: plannedAt cannot tell two starts in one millisecond apart).
local function supersededBefore(plannedAt, plannedBy)
  plannedAt = tonumber(plannedAt)
  if not (heldPlannedAt and plannedAt) then return false end
  if heldPlannedAt > plannedAt then return true end
  return heldPlannedAt == plannedAt and type(plannedBy) == 'string' and plannedBy ~= '' and type(holder.plannedBy) == 'string' and holder.plannedBy ~= plannedBy
end

if action == 'renew' then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  if not held then return 0 end
  local mine = cjson.decode(ARGV[4])
  if supersededBefore(mine.plannedAt, mine.plannedBy) then return 3 end
  local record = holder
  -- Not superseded: the step's execution is the latest the lock knows of, its plannedAt is kept
  -- (and the execution that planned it, when the step names it).
  if tonumber(mine.plannedAt) then
    local sameGeneration = tonumber(mine.plannedAt) == heldPlannedAt
    record.plannedAt = mine.plannedAt
    if not sameGeneration or mine.plannedBy ~= nil then record.plannedBy = mine.plannedBy end
  end
  record.expiresAt = now + tonumber(ARGV[3])
  redis.call('SET', KEYS[1], cjson.encode(record))
  return 1
elseif action == 'release' then
  if not held then return 0 end
  if supersededBefore(ARGV[6]) then return 3 end
  -- Another execution's plan holds it (named on both sides), whatever the clocks say: the same
  -- plannedAt is no proof of the same start (two starts in one millisecond).
  local by = ARGV[7] ~= nil and ARGV[7] ~= '' and ARGV[7] or nil
  if by and type(holder.plannedBy) == 'string' and holder.plannedBy ~= by then return 3 end
  redis.call('DEL', KEYS[1])
  return 1
elseif action == 'stop' then
  local endedBy = ARGV[7] ~= nil and ARGV[7] ~= '' and ARGV[7] or nil
  -- Its end, recorded whoever holds the lock: its plan may still be running (acquireRunLock-5.lua).
  if endedBy and KEYS[3] and tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[3]) end
  local heldBy = held and type(holder.plannedBy) == 'string' and holder.plannedBy or nil
  if endedBy and heldBy then
    if heldBy ~= endedBy then return 3 end
  else
    local endedAt, plannedAt = tonumber(ARGV[4]), held and tonumber(holder.plannedAt)
    if endedAt and plannedAt and plannedAt > endedAt then return 3 end
  end
  if supersededBefore(ARGV[6]) then return 3 end
  if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[3]) end
  if not held then return 0 end
  redis.call('DEL', KEYS[1])
  return 1
elseif action == 'resume' then
  if not held then return 0 end
  if ARGV[6] ~= nil and ARGV[6] ~= '' and plannerLost(KEYS[1], ARGV[1], ARGV[6], ARGV[7] or '') then return 3 end
  redis.call('DEL', KEYS[2])
  return 1
end
return redis.error_reply('ERR renewRunLock: ARGV[2] must be renew, release, stop or resume')
