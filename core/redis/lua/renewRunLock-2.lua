--[[
  Renews the run lock, or releases it, only if no other run holds it: a run whose lock expired
  and was taken by another run must neither extend nor delete the other run's lock. A lock that
  is gone (released by a sibling execution of the same run, or expired with no one taking it) is
  taken again on renewal, unless the run was stopped: while its stop marker exists every renewal
  is refused, so that a step still running for a stopped run ends after the page it is on.

  'stop' cleans up after an execution of the run was stopped, timed out or failed: it sets the
  stop marker (unless ARGV[3] is 0: release only) and releases the lock if this run holds it. It
  does nothing when a newer execution of the run holds the lock (it planned after the ended one
  ended: the run was started again meanwhile, and must go on).
  'resume' clears the marker for a new execution of the run, only while that execution holds the
  lock: a plan refused by another run's lock leaves a stopped run stopped.

  KEYS[1]  the lock
  KEYS[2]  this run's stop marker
  ARGV[1]  this run's id
  ARGV[2]  'renew', 'release', 'stop' or 'resume'
  ARGV[3]  renew: the lock's time to live in ms; stop: the marker's time to live in ms (0: no marker)
  ARGV[4]  renew: the holder record to store if the lock must be taken again;
           stop: when the ended execution ended (epoch ms), or '' when unknown
  ARGV[5]  stop: the marker's value (when and why the run was stopped)

  Returns  renew:   1 renewed (or taken again); 0 another run holds the lock;
                    2 the run was stopped (nothing changed)
           release: 1 released; 0 nothing to release (not held by this run)
           stop:    1 marked (ARGV[3] > 0) and the lock released; 0 marked, no lock of this run to
                    release; 3 a newer execution of the run holds the lock (nothing changed)
           resume:  1 the marker is cleared (or there was none); 0 this run does not hold the lock
                    (nothing changed)
]]
local action = ARGV[2]
if action == 'renew' and redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
local current = redis.call('GET', KEYS[1])
local held, holder = false, nil
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and decoded.runId == ARGV[1] then held, holder = true, decoded end
end

if action == 'renew' then
  if not current then
    redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[3])
    return 1
  end
  if not held then return 0 end
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
elseif action == 'release' then
  if not held then return 0 end
  redis.call('DEL', KEYS[1])
  return 1
elseif action == 'stop' then
  local endedAt, plannedAt = tonumber(ARGV[4]), held and tonumber(holder.plannedAt)
  if endedAt and plannedAt and plannedAt > endedAt then return 3 end
  if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[3]) end
  if not held then return 0 end
  redis.call('DEL', KEYS[1])
  return 1
elseif action == 'resume' then
  if not held then return 0 end
  redis.call('DEL', KEYS[2])
  return 1
end
return redis.error_reply('ERR renewRunLock: ARGV[2] must be renew, release, stop or resume')
